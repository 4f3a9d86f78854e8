"""The leaf types of a condition, one module each, listed once in ``leaf_types``.

A type declares its kind, how it loads from and dumps to the stored form, how it parses from
and renders to the flat form clients send, how it evaluates in memory and what it reads.
Its SQL lives in ``storage.condition_sql``, keyed by the same kind.
"""
