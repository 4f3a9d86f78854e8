"""The analytics back-end: segment conditions answered on ClickHouse (docs/analytics.md).

SQLite or PostgreSQL stays the system of record; ClickHouse holds a copy of the members, their
tags, campaign activity and the published memberships (``clickhouse_schema``), filled by a full
load (``full_load``) and kept current from the outbox (``outbox_apply``) and by membership
copies (``segment_copy``); the condition compiler reads it (``clickhouse_compiler``). It may
import storage and the domain, nothing above.
"""
