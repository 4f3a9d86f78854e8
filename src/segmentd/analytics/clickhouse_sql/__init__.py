"""The ClickHouse SQL of each leaf type (``domain.condition_types``), keyed by the same kind,
as ``storage.condition_sql`` holds the SQLite and PostgreSQL SQL: adding a condition type
adds one module here. ``analytics.clickhouse_compiler`` walks the groups."""
