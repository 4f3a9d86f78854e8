"""Storage: schema, engines, the condition compiler, and the queries of each aggregate.

Every table carries ``tenant_id`` and every query filters on it, so the schema can be
distributed by tenant (Citus) and no query ever crosses tenants.
"""

from .sqlite_library import without_memory_statistics

# Before any module of the package imports sqlite3, which initializes the library.
without_memory_statistics()
