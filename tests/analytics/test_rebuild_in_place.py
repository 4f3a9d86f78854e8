"""Rebuilds in place on the embedded analytics back-end: a segment with a published
membership is rebuilt by one difference query on the copy, and only who entered and left is
written into its published generation (plain and complement forms), exactly, with members
changed during the rebuild answered by the system of record."""

from __future__ import annotations

import pytest

from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.support import rebuild_world


def test_entered_and_left_are_applied_exactly(outboxed: Database, settings: Settings) -> None:
    rebuild_world.entered_and_left_applied_exactly(outboxed, settings)


def test_a_complement_is_rebuilt_in_place(outboxed: Database, settings: Settings) -> None:
    rebuild_world.a_complement_rebuilt_in_place(outboxed, settings)


@pytest.mark.parametrize("drained", [False, True], ids=["waiting", "drained"])
def test_members_changed_during_the_rebuild_are_answered_as_they_are_now(
    outboxed: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, drained: bool
) -> None:
    rebuild_world.changes_during_the_rebuild(outboxed, settings, monkeypatch, drained)


def test_a_large_difference_is_built_by_range(
    outboxed: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuild_world.a_large_difference_built_by_range(outboxed, settings, monkeypatch)
