"""A member's email changed by hand (``member_edits.set_email``), on SQLite and PostgreSQL:
the address checked by the API's rules, unique in its list in any letter case, and the
segments testing the email take the member in and out at once (no rebuild)."""

from __future__ import annotations

from datetime import UTC

import pytest

from segmentd.domain.errors import DomainValidationError, NotFound
from segmentd.jobs.build_worker import run_pending
from segmentd.services.member_edits import set_email
from segmentd.services.segment_service import SegmentDraft, create_segment
from segmentd.storage.db import Database
from segmentd.storage.one_member import member_key
from tests.conftest import Tenant, test_settings
from tests.support.factories import add_list, add_member, held


def _email(db: Database, tenant: Tenant, member_id: int) -> str:
    with db.read() as conn:
        key = member_key(conn, tenant.id, member_id)
    assert key is not None
    return key.email


def test_an_email_changes_and_email_segments_follow_at_once(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    ann = add_member(db, tenant.id, "ann@example.com")
    bob = add_member(db, tenant.id, "bob@example.com")
    elsewhere = add_member(db, tenant.id, "new@example.com", list_id=add_list(db, tenant.id))
    item = {"field_name": "Email", "op": "==", "value": "new@example.com"}
    draft = SegmentDraft("is new", 0, {"relation": "and", "items": [item]})
    segment = create_segment(db, tenant.id, draft, UTC).id
    run_pending(db, test_settings(db_url))
    assert held(db, segment) == []

    set_email(db, tenant.id, ann, "New@Example.com", UTC)  # another list's address: free here
    assert _email(db, tenant, ann) == "New@Example.com"
    assert held(db, segment) == [ann]
    with pytest.raises(DomainValidationError) as taken:
        set_email(db, tenant.id, bob, "NEW@example.com", UTC)
    assert (taken.value.path, taken.value.message) == (
        "email",
        f"NEW@example.com is the email of member {ann} of this list",
    )
    with pytest.raises(DomainValidationError) as bad:
        set_email(db, tenant.id, bob, "bob@", UTC)
    assert bad.value.message == "email must be 6 to 128 characters"
    set_email(db, tenant.id, ann, "ann@example.com", UTC)
    assert held(db, segment) == []
    assert _email(db, tenant, bob) == "bob@example.com"
    assert _email(db, tenant, elsewhere) == "new@example.com"
    with pytest.raises(NotFound):
        set_email(db, tenant.id, 999_999, "x@example.com", UTC)
