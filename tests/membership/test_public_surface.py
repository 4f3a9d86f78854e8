"""What callers outside the package may use of ``segmentd.membership`` (an import-linter
contract keeps them off its modules): the interface, the publish horizon, the cleanup chunk,
the history's change feed, what a build or a daily refresh answered elsewhere gives the
membership, range by range, and what a rebuild in place left."""

from __future__ import annotations

import segmentd.membership as membership
from segmentd.membership.relational import RelationalMembership


def test_the_package_exports_its_interface() -> None:
    assert set(membership.__all__) == {
        "STALE_CHUNK",
        "Change",
        "FillPlan",
        "FillRange",
        "GenerationKey",
        "LookupReader",
        "MemberAnswer",
        "MembershipStore",
        "RangeAnswers",
        "Rebuilt",
        "RefreshTarget",
        "build_horizon",
        "read_changes",
        "store",
    }
    assert isinstance(membership.store(), RelationalMembership)


def test_a_publish_takes_the_cursor_as_horizon_only_for_a_complement() -> None:
    assert membership.build_horizon(True, 4_096) == 4_096
    assert membership.build_horizon(False, 4_096) == 0
    assert membership.STALE_CHUNK > 0
