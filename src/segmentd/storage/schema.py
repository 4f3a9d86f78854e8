"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it.

Custom field values live in typed slot columns on ``members`` (``n1``.. for numbers, dates and
birthdays, ``t1``.. for text and dropdowns): a condition compiles to a plain column comparison,
with no JSON extraction at query time. Times are epoch seconds (BIGINT) in both databases.
"""

from __future__ import annotations

import sqlalchemy as sa

MAX_FIELDS = 50  # EngageLab's cap, counting Email, Name and Phone
MAX_CUSTOM_FIELDS = MAX_FIELDS - 3
SLOTS = range(1, MAX_CUSTOM_FIELDS + 1)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


def _tenant() -> sa.Column[int]:
    return sa.Column("tenant_id", sa.BigInteger, nullable=False)


def _epoch(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def _lease() -> list[sa.Column[object]]:
    """A job's place on the lease queue (``jobs.queue``): claims so far, who holds it and
    until when, and why it last failed."""
    return [
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    ]


def _run_times() -> list[sa.Column[object]]:
    """How often a worker's lease on the job ran out before it ended (a job that keeps
    losing its workers is reported stuck), and when it was first claimed and ended, in
    epoch seconds (migration 0017)."""
    return [
        sa.Column("lease_expiries", sa.Integer, nullable=False, default=0, server_default="0"),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
    ]


tenants = sa.Table(
    "tenants",
    metadata,
    _id(),
    sa.Column("name", sa.String(128), nullable=False),
    _epoch("created_at"),
    # A new random number whenever the tenant's fields, tags or campaigns change (see
    # storage.catalog): it names one state of them, so a process can cache that state.
    sa.Column("catalog_version", sa.BigInteger, nullable=False, server_default="0"),
    # The last ``segments.number`` given out: numbers are never reused (migration 0007).
    sa.Column("last_segment_number", sa.BigInteger, nullable=False, server_default="0"),
)

credentials = sa.Table(
    "credentials",
    metadata,
    _id(),
    _tenant(),
    sa.Column("api_user", sa.String(64), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    _epoch("created_at"),
)

# A list is also a Commanders Act "site": ``site`` is its id.
lists = sa.Table(
    "lists",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    sa.Column("token_digest", sa.String(64), nullable=True, unique=True),
    sa.Column("token_sealed", sa.Text, nullable=True),
    sa.Column("allowed_origins", sa.Text, nullable=True),
    _epoch("created_at"),
    sa.Index(None, "tenant_id", "id"),
)

fields = sa.Table(
    "fields",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("name_key", sa.String(64), nullable=False),
    sa.Column("field_type", sa.SmallInteger, nullable=False),
    sa.Column("format", sa.String(16), nullable=True),
    sa.Column("options", sa.Text, nullable=True),
    sa.Column("visible", sa.Boolean, nullable=False, default=True),
    sa.Column("slot", sa.SmallInteger, nullable=False),
    _epoch("created_at"),
    sa.UniqueConstraint("tenant_id", "name_key"),
    sa.UniqueConstraint("tenant_id", "slot"),
)

tags = sa.Table(
    "tags",
    metadata,
    _id(),
    _tenant(),
    sa.Column("name", sa.String(128), nullable=False),
    _epoch("created_at"),
    sa.UniqueConstraint("tenant_id", "name"),
)

members = sa.Table(
    "members",
    metadata,
    _id(),
    _tenant(),
    sa.Column("list_id", sa.BigInteger, nullable=False),
    sa.Column("email", sa.String(128), nullable=False),
    sa.Column("email_key", sa.String(128), nullable=False),
    sa.Column("domain", sa.String(128), nullable=False),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("phone", sa.String(64), nullable=True),
    sa.Column("tcid", sa.String(64), nullable=True),
    _epoch("created_at"),
    _epoch("updated_at"),
    _epoch("unsubscribed_at", nullable=True),
    *(sa.Column(f"n{slot}", sa.Double, nullable=True) for slot in SLOTS),
    *(sa.Column(f"t{slot}", sa.Text, nullable=True) for slot in SLOTS),
    sa.UniqueConstraint("tenant_id", "list_id", "email_key"),
    sa.UniqueConstraint("tenant_id", "list_id", "tcid"),
    sa.Index(None, "tenant_id", "list_id", "id"),
)

member_tags = sa.Table(
    "member_tags",
    metadata,
    _tenant(),
    sa.Column("member_id", sa.BigInteger, nullable=False),
    sa.Column("tag_id", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "member_id", "tag_id"),
    sa.Index(None, "tenant_id", "tag_id", "member_id"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    _id(),
    _tenant(),
    sa.Column("list_id", sa.BigInteger, nullable=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    _epoch("created_at"),
    _epoch("updated_at"),
    sa.Index(None, "tenant_id", "id"),
)

# One row per member and campaign; ingestion keeps click => open => sent.
campaign_activity = sa.Table(
    "campaign_activity",
    metadata,
    _tenant(),
    sa.Column("campaign_id", sa.BigInteger, nullable=False),
    sa.Column("member_id", sa.BigInteger, nullable=False),
    _epoch("sent_at", nullable=True),
    _epoch("opened_at", nullable=True),
    _epoch("clicked_at", nullable=True),
    sa.PrimaryKeyConstraint("tenant_id", "campaign_id", "member_id"),
    # A member's rows with their times, read from the index alone (migration 0012).
    sa.Index(
        "ix_campaign_activity_member_times",
        *("tenant_id", "member_id", "sent_at", "opened_at", "clicked_at"),
    ),
    # A member's opens and clicks alone, for the leaves on those events (migration 0022).
    *(
        sa.Index(
            f"ix_campaign_activity_member_{event}",
            "tenant_id",
            "member_id",
            time,
            sqlite_where=sa.text(f"{time} IS NOT NULL"),
            postgresql_where=sa.text(f"{time} IS NOT NULL"),
        )
        for event, time in (("opens", "opened_at"), ("clicks", "clicked_at"))
    ),
)

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    _tenant(),
    sa.Column("list_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(48), nullable=False),
    sa.Column("segment_type", sa.SmallInteger, nullable=False),
    sa.Column("condition", sa.Text, nullable=False),
    # -1 failed, 1 building, 2 complete: EngageLab's status strings.
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("percent", sa.SmallInteger, nullable=False, default=0),
    # Readers see only the published generation; a build fills the next one beside it.
    sa.Column("generation", sa.BigInteger, nullable=False, default=0),
    sa.Column("member_total", sa.BigInteger, nullable=False, default=0),
    sa.Column("error", sa.Text, nullable=True),
    _epoch("created_at"),
    _epoch("updated_at"),
    _epoch("built_at", nullable=True),
    # The segment's key in the membership tables, unique in its tenant (migration 0007).
    sa.Column("number", sa.BigInteger, nullable=False),
    # 0, or the published generation is stored as its complement up to this member id
    # (``membership.complement``, migration 0008).
    sa.Column("horizon", sa.BigInteger, nullable=False, default=0),
    # The id the Commanders Act look-up answers: 8 upper-case hex characters, unique in the
    # tenant, given or random (migration 0009).
    sa.Column("commandersact_id", sa.String(8), nullable=False),
    # Whether the condition's answer can change as days pass (relative dates, recency): set
    # with every write of the condition; such segments are refreshed after each day boundary.
    sa.Column("time_dependent", sa.Boolean, nullable=False, default=False),
    # When the published membership was last made exact (a build's publish, a daily refresh),
    # and the day in the tenant's zone its relative dates count from (migration 0014).
    _epoch("exact_at", nullable=True),
    sa.Column("exact_day", sa.Date, nullable=True),
    # "dynamic": built from its condition; "static": members given by hand, never built
    # (``domain.segment_kinds``, migration 0013).
    sa.Column("kind", sa.String(8), nullable=False, server_default="dynamic"),
    sa.Index(None, "tenant_id", "list_id"),
    sa.Index(None, "tenant_id", "number", unique=True),
    sa.Index(None, "tenant_id", "commandersact_id", unique=True),
)

# Keyed by ``segments.number``, not the 24-character id: a key of fixed-width integers is
# compared and stored at a fraction of the cost, and builds insert up to a row per member
# (migration 0007).
segment_members = sa.Table(
    "segment_members",
    metadata,
    _tenant(),
    sa.Column("segment_number", sa.BigInteger, nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("member_id", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "segment_number", "generation", "member_id"),
    # No other index: each would cost every row a build inserts (migration 0005). Readers of
    # one member's rows name segment and generation and seek the primary key.
    sqlite_with_rowid=False,
)

# How many members each generation holds per bucket of ``membership.buckets.BUCKET_SIZE`` ids:
# a members page at any offset sums these and seeks its bucket (migration 0005).
segment_buckets = sa.Table(
    "segment_buckets",
    metadata,
    _tenant(),
    sa.Column("segment_number", sa.BigInteger, nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("bucket", sa.BigInteger, nullable=False),
    sa.Column("members", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "segment_number", "generation", "bucket"),
    sqlite_with_rowid=False,
)

# Members removed by hand stay out of the segment across rebuilds.
segment_exclusions = sa.Table(
    "segment_exclusions",
    metadata,
    _tenant(),
    sa.Column("segment_id", sa.String(24), nullable=False),
    sa.Column("member_id", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "segment_id", "member_id"),
)

# Membership history (migrations 0015, 0019, 0021): members entering (1) or leaving (0) a
# segment's published membership, numbered per tenant in commit order (``storage.change_log``),
# stored as blocks of at most ``id_blocks.BLOCK`` sorted member ids of one segment, change,
# cause and time: a publish's difference is a few hundred rows, not a row per change. The
# segment by its number (``history_segments`` says its id and list, also once it is
# deleted), the cause as a code (``change_log.CAUSE_CODES``).
history_blocks = sa.Table(
    "history_blocks",
    metadata,
    _tenant(),
    # The block's changes have seqs last_seq - size + 1 .. last_seq, in member id order.
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),  # ids in the block
    sa.Column("segment_number", sa.BigInteger, nullable=False),
    sa.Column("change", sa.SmallInteger, nullable=False),
    sa.Column("cause", sa.SmallInteger, nullable=False),
    _epoch("at"),
    # Its member ids (``storage.id_blocks``): first, last, (hi - lo).bit_length(), and the
    # offsets from lo.
    sa.Column("lo", sa.BigInteger, nullable=False),
    sa.Column("hi", sa.BigInteger, nullable=False),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("ids", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "last_seq"),
    # A segment's feed; a member's history (one window per level). No more: each index costs
    # every block recorded.
    sa.Index(None, "tenant_id", "segment_number", "last_seq"),
    sa.Index(None, "tenant_id", "level", "lo", "hi"),
    sqlite_with_rowid=False,
)

# Every segment's id and list by its number, written when the segment is created and kept
# after it is deleted: the history of a deleted segment still names it (migration 0019).
history_segments = sa.Table(
    "history_segments",
    metadata,
    _tenant(),
    sa.Column("segment_number", sa.BigInteger, nullable=False),
    sa.Column("segment_id", sa.String(24), nullable=False),
    sa.Column("list_id", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "segment_number"),
    sa.Index(None, "tenant_id", "segment_id"),
)

# The last seq of ``history_blocks`` given out per tenant: its row lock, taken just before
# COMMIT, orders the tenant's writers of history.
change_counters = sa.Table(
    "change_counters",
    metadata,
    sa.Column("tenant_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)

# Each segment's member count at the end of each day (UTC) on which its membership changed.
segment_sizes = sa.Table(
    "segment_sizes",
    metadata,
    _tenant(),
    sa.Column("segment_id", sa.String(24), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "segment_id", "day"),
)

build_jobs = sa.Table(
    "build_jobs",
    metadata,
    _id(),
    _tenant(),
    sa.Column("segment_id", sa.String(24), nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    # queued, running, done, failed, superseded
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("cursor", sa.BigInteger, nullable=False, default=0),
    sa.Column("processed", sa.BigInteger, nullable=False, default=0),
    sa.Column("total", sa.BigInteger, nullable=False, default=0),
    # The generation is stored as its complement up to ``cursor`` (``membership.complement``).
    sa.Column("complement", sa.Boolean, nullable=False, default=False),
    # The day in the tenant's zone the build counts relative dates from, fixed by its first
    # step: a build that runs past midnight, or resumes after it, stays one day's answer.
    sa.Column("day", sa.Date, nullable=True),
    # A build answered on the analytics back-end: the time (epoch s) up to which the copy it
    # read held every change (``jobs.analytics_build``); NULL on the system of record.
    sa.Column("analytics_fresh_as_of", sa.BigInteger, nullable=True),
    *_lease(),
    _epoch("created_at"),
    _epoch("updated_at"),
    *_run_times(),
    sa.Index(None, "state", "lease_expires_at"),
    sa.Index(None, "tenant_id", "segment_id"),
)

# The daily refresh of a list's time-dependent segments (``jobs.refresh_runner``): one pass over
# the list's members, chunk by chunk from ``cursor``, for every segment in ``segments``.
refresh_jobs = sa.Table(
    "refresh_jobs",
    metadata,
    _id(),
    _tenant(),
    sa.Column("list_id", sa.BigInteger, nullable=False),
    # The day refreshed to, in the tenant's zone: fixed by the first step, like ``segments``
    # (JSON: {segment id: the published generation it refreshes}).
    sa.Column("day", sa.Date, nullable=True),
    sa.Column("segments", sa.Text, nullable=True),
    # queued, running, done, failed
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("cursor", sa.BigInteger, nullable=False, default=0),
    sa.Column("processed", sa.BigInteger, nullable=False, default=0),
    sa.Column("changed", sa.BigInteger, nullable=False, default=0),
    *_lease(),
    _epoch("created_at"),
    _epoch("updated_at"),
    *_run_times(),
    sa.Index(None, "state", "lease_expires_at"),
    sa.Index(None, "tenant_id", "list_id"),
)

# --- CSV imports: owned by segmentd.imports ---
# One row per import of a CSV file: where it got to (byte offset and row number after the last
# committed chunk), its counts, and a lease like build_jobs so a crashed import resumes.
import_jobs = sa.Table(
    "import_jobs",
    metadata,
    _id(),
    _tenant(),
    sa.Column("kind", sa.String(16), nullable=False),  # members, events
    sa.Column("origin", sa.String(8), nullable=False),  # cli (resumed by the CLI), api (by serve)
    sa.Column("list_id", sa.BigInteger, nullable=True),
    sa.Column("campaign_id", sa.BigInteger, nullable=True),
    sa.Column("options", sa.Text, nullable=False),  # JSON: tag_flag, update_existing, mapping
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("file_size", sa.BigInteger, nullable=False),
    sa.Column("file_digest", sa.String(64), nullable=False),  # sha256 of the first MiB
    # queued, running, done, failed
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("byte_offset", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_done", sa.BigInteger, nullable=False, default=0),
    sa.Column("created", sa.BigInteger, nullable=False, default=0),
    sa.Column("updated", sa.BigInteger, nullable=False, default=0),
    sa.Column("skipped", sa.BigInteger, nullable=False, default=0),
    sa.Column("rejected", sa.BigInteger, nullable=False, default=0),
    sa.Column("errors", sa.Text, nullable=False, default="[]"),  # JSON: the first rejected rows
    sa.Column("rejects_path", sa.Text, nullable=True),
    sa.Column("rejects_offset", sa.BigInteger, nullable=False, default=0),
    *_lease(),
    _epoch("created_at"),
    _epoch("updated_at"),
    sa.Index(None, "state", "origin", "lease_expires_at"),
    sa.Index(None, "tenant_id", "id"),
)

# Signed-in UI sessions (``api.ui.session``): the cookie carries a random id, this table its
# SHA-256 digest, so that signing out ends the session in every server process.
ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    _tenant(),
    sa.Column("api_user", sa.String(64), nullable=False),
    _epoch("created_at"),
    _epoch("expires_at"),
    sa.Index(None, "tenant_id", "api_user"),
    sa.Index(None, "expires_at"),
)

# --- Webhooks: owned by storage.webhooks and jobs.webhook_* ---
# A subscription to the tenant's membership changes (all segments, or one), posted to ``url``.
# ``cursor`` is the last change (``seq`` of the tenant's change feed) handed to a delivery:
# batches are cut from the feed in order, one unfinished delivery per subscription at a time.
webhooks = sa.Table(
    "webhooks",
    metadata,
    _id(),
    _tenant(),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("segment_id", sa.String(24), nullable=True),  # None: every segment
    sa.Column("events", sa.String(16), nullable=False),  # entered, left, both
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("secret_sealed", sa.Text, nullable=False),  # AES-GCM, bound to the row (secrets.py)
    sa.Column("cursor", sa.BigInteger, nullable=False, default=0),
    _epoch("created_at"),
    _epoch("updated_at"),
    sa.Index(None, "tenant_id", "id"),
)

# One batch of changes for one subscription, on the lease queue (``jobs.queue``). ``message_id``
# is the ``webhook-id`` header, the same at every attempt so that receivers can deduplicate;
# ``payload`` the exact body (so a retry or a replay posts the same bytes). ``state``: queued,
# running, done (delivered), failed (parked after the retry window; replay queues it again).
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    _id(),
    _tenant(),
    sa.Column("webhook_id", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("first_seq", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("change_count", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),  # clock.now() epoch seconds
    sa.Column("window_start", sa.Float, nullable=True),  # first attempt since queued / replayed
    sa.Column("tries", sa.Integer, nullable=False, default=0),  # posts since queued / replayed
    sa.Column("last_status", sa.Integer, nullable=True),
    *_lease(),
    _epoch("created_at"),
    _epoch("updated_at"),
    sa.Column("delivered_at", sa.BigInteger, nullable=True),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "tenant_id", "webhook_id", "id"),
)

# Changes that the analytics copy in ClickHouse has not taken yet, written in the transaction
# of the change when the analytics back-end is set (``storage.analytics_outbox``), drained in
# ``seq`` order (``analytics_cluster.outbox_drain``). ``kind``: member (its row and tags) or
# activity (its row for ``campaign_id``). A row names what changed, never the new values:
# the drain reads the current state (migration 0018).
analytics_outbox = sa.Table(
    "analytics_outbox",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    _tenant(),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("member_id", sa.BigInteger, nullable=False),
    sa.Column("campaign_id", sa.BigInteger, nullable=True),
    _epoch("recorded_at"),  # how far behind the copy is: the oldest row's age
)
