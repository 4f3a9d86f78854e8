"""Static segments in the UI over HTTP, on SQLite and PostgreSQL: created with a name and a
list, members given by email, member id and CSV, taken back after a confirmation; every count
and error checked against the API's view of the same segment."""

from __future__ import annotations

import html
import re

import httpx

from segmentd.services.static_segments import StaticDraft, create_static_segment
from tests.api.ui.conftest import Shared
from tests.support.ui_support import (
    SEGMENTS,
    Ui,
    api_members,
    api_message,
    email_of,
    make_segment,
    ok,
    slot_text,
)


def _flash(ui: Ui, answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    page = ui.get(answer.headers["location"]).text
    match = re.search(r'<div class="flash" role="status">(.*?)</div>', page, re.S)
    assert match, page
    return html.unescape(re.sub(r"<[^>]+>", " ", match[1]))


def _member_ids(client: httpx.Client, count: int) -> dict[str, int]:
    """Email -> member id of the first members of a dynamic segment."""
    segment_id = make_segment(client)
    page = ok(client.post(f"{SEGMENTS}/{segment_id}/members?limit={count}"))["result"]
    return {m["email"]: int(m["id"]) for m in page}


def _create(ui: Ui, name: str, entries: str = "") -> httpx.Response:
    return ui.post("/ui/segments/new-static", {"segment_name": name, "entries": entries})


def test_a_static_segment_is_created_with_its_first_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    ids = _member_ids(client, 2)
    (first, first_id), (second, _) = ids.items()
    page = ui.get("/ui/segments/new-static").text
    assert 'name="segment_name"' in page and 'name="list_id"' in page
    answer = _create(ui, "Hand picked", f"{second}\n{first_id}")
    assert "Static segment Hand picked created." in _flash(ui, answer)
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    assert sorted(api_members(client, segment_id)) == sorted([first, second])
    shown = ui.get(f"/ui/segments/{segment_id}").text
    assert "Upload the CSV" in shown and "Rebuild" not in shown

    refused = _create(ui, "Bad.name")
    words = api_message(client.post(SEGMENTS, json={"segment_name": "Bad.name", "type": 0}))
    assert refused.status_code == 400
    assert slot_text(refused.text, "err-segment_name") == words
    unknown = _create(ui, "Nobody", "nobody@example.com")
    assert unknown.status_code == 400
    assert "nobody@example.com names no member of list" in slot_text(unknown.text, "err-entries")
    assert "nobody@example.com" in unknown.text  # what was typed stays in the box


def test_members_are_added_by_email_id_and_csv_and_removed_after_a_confirmation(
    shared: Shared,
) -> None:
    ui, client = shared.ui, shared.api
    ids = _member_ids(client, 4)
    emails = list(ids)
    segment_id = _create(ui, "Given").headers["location"].rsplit("/", 1)[1]
    add = f"/ui/segments/{segment_id}/static/add"

    said = _flash(ui, ui.post(add, {"entries": f"{emails[0]}, {ids[emails[1]]}"}))
    assert "2 members added to the segment." in said
    said = _flash(ui, ui.post(add, {"entries": emails[0]}))
    assert "0 members added" in said and "1 member was in the segment already." in said

    refused = ui.post(add, {"entries": f"{emails[2]}\nghost@example.com"})
    assert refused.status_code == 400
    assert "ghost@example.com names no member of list" in slot_text(refused.text, "err-entries")
    assert sorted(api_members(client, segment_id)) == sorted(emails[:2])  # nothing written

    csv_text = f"email\n{emails[1]}\n{emails[2]}\n{emails[3]}\nghost@example.com\n"
    upload = f"/ui/segments/{segment_id}/static/upload"
    said = _flash(ui, ui.post(upload, files={"file": ("given.csv", csv_text, "text/csv")}))
    assert "2 members added to the segment." in said
    assert "1 member was in the segment already." in said
    assert "1 email names no member of the list: ghost@example.com" in said
    assert sorted(api_members(client, segment_id)) == sorted(emails)
    empty = ui.post(upload, files={"file": ("empty.csv", b"", "text/csv")})
    assert empty.status_code == 400 and slot_text(empty.text, "err-file")
    not_utf8 = ui.post(upload, files={"file": ("bad.csv", b"\xff\xfe\x00", "text/csv")})
    assert slot_text(not_utf8.text, "err-file") == "the CSV must be UTF-8"

    remove = f"/ui/segments/{segment_id}/static/remove"
    picked = [("member_id", str(ids[emails[0]]))]
    confirm = ui.post(remove, picked)
    assert confirm.status_code == 200
    assert "Remove 1 member from the segment Given?" in html.unescape(confirm.text)
    assert emails[0] in confirm.text
    assert sorted(api_members(client, segment_id)) == sorted(emails)  # not yet
    said = _flash(ui, ui.post(remove, [*picked, ("confirmed", "1")]))
    assert "1 member removed from the segment." in said
    assert sorted(api_members(client, segment_id)) == sorted(emails[1:])
    total = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"]
    assert total == 3


def test_a_dynamic_segment_takes_no_given_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    answer = ui.post(f"/ui/segments/{segment_id}/static/add", {"entries": email_of(1)})
    assert "is dynamic: its members are those its condition selects" in _flash(ui, answer)
    assert "Upload the CSV" not in ui.get(f"/ui/segments/{segment_id}").text


def test_french_counts_use_the_french_singular(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment = create_static_segment(shared.db, shared.tenant.id, StaticDraft(name="Seul"))
    ui.post("/ui/language", {"lang": "fr", "back": "/ui/segments"})
    try:
        said = _flash(
            ui, ui.post(f"/ui/segments/{segment.id}/static/add", {"entries": email_of(3)})
        )
        assert "1 membre ajouté au segment." in said
    finally:
        ui.post("/ui/language", {"lang": "en", "back": "/ui/segments"})
    assert api_members(client, segment.id) == [email_of(3)]
