"""Use cases: each runs its storage writes and what must follow them in one transaction."""
