"""Use cases: what a request or a command asks of segmentd, the same for every API family."""
