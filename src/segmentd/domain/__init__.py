"""The pure domain core: condition tree, field catalogue, operators, validation, evaluation.

Nothing in this package performs I/O; storage and the HTTP adapters build on it.
"""
