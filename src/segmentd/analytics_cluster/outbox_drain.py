"""Drain the analytics outbox into the cluster: the one drain (``analytics.outbox_apply``),
on the cluster's ``Distributed`` tables (``cluster_engine``). Builds and previews read what
it writes."""

from __future__ import annotations

from collections.abc import Callable

from ..analytics.full_load import Target
from ..analytics.outbox_apply import DEFAULT_BATCH, DrainProgress
from ..analytics.outbox_apply import drain as apply_outbox
from ..storage.db import Database
from .cluster_engine import ClusterEngine
from .shard_client import ClusterClient

__all__ = ["DrainProgress", "drain"]


def drain(
    db: Database,
    client: ClusterClient,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[DrainProgress], None] | None = None,
) -> int:
    """Drain until the outbox is empty (every tenant); the outbox rows drained."""
    engine = ClusterEngine(client)
    target = Target(engine, client.database, engine)
    return apply_outbox(db, target, batch=batch, progress=progress).outbox_rows
