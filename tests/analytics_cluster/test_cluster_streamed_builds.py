"""Builds on the two-shard cluster (18.16) stream by member range: each chunk's query, held
to its range in every set, runs across the ``Distributed`` tables, and the build over
several chunks publishes what the SQL compiler selects, before and after a change."""

from __future__ import annotations

import pytest

from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.support.streamed_builds import CHUNK, record_queries, streamed_build_agrees


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The back-end's settings with chunks of ``CHUNK`` members (below the setting's floor)."""
    return settings.model_copy(update={"build_chunk_size": CHUNK})


def test_a_streamed_build_on_the_cluster_agrees_chunk_by_chunk(
    outboxed: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = record_queries(monkeypatch)
    streamed_build_agrees(outboxed, settings, asked)
