"""The SQL of each leaf type (``domain.condition_types``), keyed by the same kind.

Each module compiles one type to a boolean over ``members``; ``storage.compiler`` walks the
groups. ``ids`` = (lo, hi] when the caller already keeps ``members.id`` in that range.
"""
