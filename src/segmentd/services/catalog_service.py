"""Catalog use cases: create, update and delete custom fields; rename and delete tags (members
create them by name); create and update campaigns.

Every API family, the demo and the command line go through here. Each use case has two forms:
one opening its own write transaction (``db``), and one ending in ``_in`` that works in the
caller's (for a caller that writes more in the same transaction). A field's definition is
checked before the transaction opens, as the APIs answer it. Errors are ``domain.errors``
(``DomainValidationError``); "no such field, tag or campaign" is None or False, which each
family words as its own not-found answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any

from sqlalchemy.engine import Connection

from .. import metrics
from ..domain.fields import CampaignStatus, FieldDef
from ..jobs.build_queue import enqueue_builds
from ..membership import store as membership
from ..storage import campaigns, field_defs, tags
from ..storage.campaigns import Campaign
from ..storage.db import Database
from ..storage.field_defs import FieldChange, FieldSpec
from ..storage.segment_refs import segments_counting_activity
from ..storage.tags import Tag
from ..storage.tenants import default_list_id


@dataclass(frozen=True)
class FieldDraft:
    """A new field as the client sent it, unchecked."""

    name: Any = None
    field_type: Any = None
    format: Any = None
    options: Any = None
    visible: Any = True

    def checked(self) -> FieldSpec:
        """Every rule on a field's definition, in the APIs' order (``DomainValidationError``)."""
        return field_defs.check_spec(
            self.name, self.field_type, self.format, self.options, self.visible
        )


# --- fields ------------------------------------------------------------------------------------


def create_field(db: Database, tenant_id: int, draft: FieldDraft) -> FieldDef:
    """Check and save a new custom field (a free slot; the name unique in any letter case)."""
    spec = draft.checked()  # before the transaction: a refusal needs no database
    with db.write() as conn:
        return field_defs.create_field(conn, tenant_id, spec)


def create_field_in(conn: Connection, tenant_id: int, draft: FieldDraft) -> FieldDef:
    """``create_field`` in the caller's write transaction."""
    return field_defs.create_field(conn, tenant_id, draft.checked())


def update_field(
    db: Database, tenant_id: int, field_id: int, change: FieldChange, tz: timezone
) -> FieldDef | None:
    """Rename a field, show or hide it or change its options; None when there is no such field."""
    with db.write() as conn:
        return update_field_in(conn, tenant_id, field_id, change, tz)


def update_field_in(
    conn: Connection, tenant_id: int, field_id: int, change: FieldChange, tz: timezone
) -> FieldDef | None:
    """``update_field`` in the caller's transaction. Members whose value of a dropped option
    was cleared leave or join segments before it commits."""
    field, changed = field_defs.update_field(conn, tenant_id, field_id, change)
    membership().apply_changes(conn, tenant_id, changed, tz)
    metrics.realtime_update(len(changed.member_ids))
    return field


def delete_field(db: Database, tenant_id: int, field_id: int) -> bool:
    """Delete a field no segment uses, with its values; False when there is no such field."""
    with db.write() as conn:
        return field_defs.delete_field(conn, tenant_id, field_id)


# --- tags --------------------------------------------------------------------------------------


def create_tag(db: Database, tenant_id: int, name: str) -> Tag:
    """A new tag, on no member yet: refused when the name breaks the tag rules or is taken."""
    with db.write() as conn:
        return tags.create_tag(conn, tenant_id, name)


def rename_tag(db: Database, tenant_id: int, tag_id: int, name: Any) -> Tag | None:
    """Rename a tag (segments name it by id and keep testing it); None when there is none."""
    with db.write() as conn:
        return tags.rename_tag(conn, tenant_id, tag_id, name)


def delete_tag(db: Database, tenant_id: int, tag_id: int) -> bool:
    """Delete a tag no segment tests, taking it off its members; False when there is none."""
    with db.write() as conn:
        return tags.delete_tag(conn, tenant_id, tag_id)


# --- campaigns ---------------------------------------------------------------------------------


def create_campaign_in(
    conn: Connection, tenant_id: int, name: Any, status: CampaignStatus, list_id: int
) -> Campaign:
    """Save a new campaign of the caller's checked list (``checked_status`` checks a status)."""
    return campaigns.create_campaign(conn, tenant_id, name, status, list_id)


def update_campaign(
    db: Database,
    tenant_id: int,
    campaign_id: int,
    name: Any = None,
    status: CampaignStatus | None = None,
) -> Campaign | None:
    """Rename a campaign or move its status on; None when there is no such campaign."""
    with db.write() as conn:
        return campaigns.update_campaign(conn, tenant_id, campaign_id, name, status)


def delete_campaign(db: Database, tenant_id: int, campaign_id: int) -> bool:
    """Delete a campaign no segment tests, with its sends, opens and clicks; False when there
    is none. The segments counting activity across campaigns (engagement, recency) are
    rebuilt, queued in the same transaction: their members may move without that activity."""
    with db.write() as conn:
        deleted = campaigns.delete_campaign(conn, tenant_id, campaign_id)
        if deleted is None:
            return False
        # Only members of the campaign's list had its activity.
        list_id = deleted.list_id or default_list_id(conn, tenant_id)
        enqueue_builds(conn, tenant_id, segments_counting_activity(conn, tenant_id, list_id))
    return True


def checked_status(raw: Any) -> CampaignStatus:
    """A campaign status the client sent (``DomainValidationError`` when it is none)."""
    return campaigns.check_status(raw)
