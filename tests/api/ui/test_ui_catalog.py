"""The catalogue's pages over HTTP, on SQLite and PostgreSQL: a field renamed, hidden and its
dropdown options changed; a field and a tag deleted after a confirmation page, and refused
while a segment uses them (naming the segment), as the API refuses them; tags renamed;
campaigns created, renamed, moved on and deleted (refused while a segment tests one, naming
it, as the API refuses it); refusals in the API's words beside their input;
another tenant's ids answer 404."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.api.ui.conftest import Shared
from tests.support.ui_support import (
    FIELDS,
    SEGMENTS,
    Ui,
    api_message,
    flash_after,
    ok,
    slot_text,
)

TAGS = "/v1/marketing/lists/tags"
CAMPAIGNS = "/v1/marketing/campaigns"


def _flash(shared: Shared, answer: httpx.Response) -> str:
    return flash_after(shared.ui, answer)


def _field(shared: Shared, name: str) -> dict[str, Any] | None:
    fields = ok(shared.api.get(FIELDS))["result"]
    return next((f for f in fields if f["field_name"] == name), None)


def _tag(shared: Shared, name: str) -> dict[str, Any] | None:
    tags = ok(shared.api.get(TAGS, params={"limit": 100}))["result"]
    return next((t for t in tags if t["tag_name"] == name), None)


def _segment(shared: Shared, name: str, item: dict[str, Any]) -> None:
    body = {"segment_name": name, "type": 0, "condition": {"relation": "and", "items": [item]}}
    ok(shared.api.post(SEGMENTS, json=body))


def test_a_field_is_renamed_hidden_and_its_options_changed(shared: Shared) -> None:
    ok(shared.api.post(FIELDS, json={"field_name": "Shoe", "field_type": 4, "options": ["S", "M"]}))
    field_id = _field(shared, "Shoe")["field_id"]  # type: ignore[index]
    page = shared.ui.get("/ui/fields").text
    assert f'href="/ui/fields/{field_id}/edit"' in page and f"/ui/fields/{field_id}/delete" in page
    form = shared.ui.get(f"/ui/fields/{field_id}/edit")
    assert form.status_code == 200 and "S\nM</textarea>" in form.text and "style=" not in form.text
    saved = shared.ui.post(
        f"/ui/fields/{field_id}/edit", {"field_name": "Shoe_size", "options": "S\nM\nL"}
    )
    assert _flash(shared, saved) == "Field Shoe_size saved."
    after = _field(shared, "Shoe_size")
    assert after is not None and after["options"] == ["S", "M", "L"] and after["visible"] is False


def test_field_refusals_are_the_apis_words_beside_their_input(shared: Shared) -> None:
    ok(shared.api.post(FIELDS, json={"field_name": "Size", "field_type": 4, "options": ["A", "B"]}))
    field_id = _field(shared, "Size")["field_id"]  # type: ignore[index]
    _segment(shared, "Size A", {"field_name": "Size", "op": "==", "value": "A"})
    api_taken = shared.api.put(f"{FIELDS}/{field_id}", json={"field_name": "city"})
    api_dropped = shared.api.put(f"{FIELDS}/{field_id}", json={"options": ["B"]})
    for posted, slot, api in (
        ({"field_name": "city", "options": "A\nB"}, "err-field_name", api_taken),
        ({"field_name": "Size", "options": "B"}, "err-options", api_dropped),
        ({"field_name": "Size", "options": "A\nA"}, "err-options", None),
        ({"field_name": "", "options": "A\nB"}, "err-field_name", None),
    ):
        answer = shared.ui.post(f"/ui/fields/{field_id}/edit", {**posted, "visible": "on"})
        assert answer.status_code == 400, answer.text
        shown = slot_text(answer.text, slot)
        assert shown, (posted, answer.text)
        if api is not None:
            assert shown == api_message(api)
    assert "Size A" in slot_text(
        shared.ui.post(f"/ui/fields/{field_id}/edit", {"field_name": "Size", "options": "B"}).text,
        "err-options",
    )
    assert _field(shared, "Size")["options"] == ["A", "B"]  # type: ignore[index]


def test_a_field_is_deleted_after_confirmation_unless_a_segment_uses_it(shared: Shared) -> None:
    ok(shared.api.post(FIELDS, json={"field_name": "Used", "field_type": 0}))
    ok(shared.api.post(FIELDS, json={"field_name": "Spare", "field_type": 0}))
    used = _field(shared, "Used")["field_id"]  # type: ignore[index]
    spare = _field(shared, "Spare")["field_id"]  # type: ignore[index]
    _segment(shared, "Uses a field", {"field_name": "Used", "op": "==", "value": "x"})
    confirm = shared.ui.get(f"/ui/fields/{spare}/delete")
    assert confirm.status_code == 200 and "Delete the field Spare?" in html.unescape(confirm.text)
    assert _flash(shared, shared.ui.post(f"/ui/fields/{spare}/delete")) == "Field Spare deleted."
    assert _field(shared, "Spare") is None
    api = shared.api.delete(f"{FIELDS}/{used}")
    refused = shared.ui.post(f"/ui/fields/{used}/delete")
    assert refused.status_code == 409
    assert slot_text(refused.text, "err-delete") == api_message(api)
    assert "Uses a field" in slot_text(refused.text, "err-delete")
    assert _field(shared, "Used") is not None


def test_tags_are_renamed_and_deleted_unless_a_segment_tests_them(shared: Shared) -> None:
    ok(
        shared.api.post(
            "/v1/marketing/lists/members",
            json={
                "update_existing": True,
                "members": [{"email": "tagged@example.com", "tags": ["Spare tag", "Kept tag"]}],
            },
        )
    )
    spare = _tag(shared, "Spare tag")["tag_id"]  # type: ignore[index]
    kept = _tag(shared, "Kept tag")["tag_id"]  # type: ignore[index]
    _segment(shared, "Keeps a tag", {"field_name": "tag", "op": "==", "value": "Kept tag"})
    page = shared.ui.get("/ui/tags")
    assert page.status_code == 200 and f'action="/ui/tags/{spare}/rename"' in page.text
    renamed = shared.ui.post(f"/ui/tags/{kept}/rename", {"tag_name": "Kept tag 2"})
    assert _flash(shared, renamed) == "Tag Kept tag 2 saved."
    api_taken = shared.api.put(f"{TAGS}/{kept}", json={"tag_name": "VIP"})
    taken = shared.ui.post(f"/ui/tags/{kept}/rename", {"tag_name": "VIP"})
    assert taken.status_code == 400
    assert slot_text(taken.text, f"err-tag-{kept}") == api_message(api_taken)
    blank = shared.ui.post(f"/ui/tags/{kept}/rename", {"tag_name": ""})
    assert blank.status_code == 400 and slot_text(blank.text, f"err-tag-{kept}")

    refused = shared.ui.post(f"/ui/tags/{kept}/delete")
    assert refused.status_code == 409
    assert slot_text(refused.text, "err-delete") == api_message(shared.api.delete(f"{TAGS}/{kept}"))
    assert "Keeps a tag" in slot_text(refused.text, "err-delete")
    assert shared.ui.get(f"/ui/tags/{spare}/delete").status_code == 200
    assert _flash(shared, shared.ui.post(f"/ui/tags/{spare}/delete")) == "Tag Spare tag deleted."
    assert _tag(shared, "Spare tag") is None and _tag(shared, "Kept tag 2") is not None


def test_a_tag_is_created_before_any_member_has_it(shared: Shared) -> None:
    made = shared.ui.post("/ui/tags", {"new_tag_name": "Prospects"})
    assert _flash(shared, made) == "Tag Prospects created."
    created = _tag(shared, "Prospects")
    assert created is not None and created["member_count"] == 0
    again = shared.ui.post("/ui/tags", {"new_tag_name": "Prospects"})
    assert again.status_code == 400
    assert slot_text(again.text, "err-new_tag_name") == "a tag named Prospects already exists"
    blank = shared.ui.post("/ui/tags", {"new_tag_name": ""})
    assert blank.status_code == 400 and slot_text(blank.text, "err-new_tag_name")


def test_campaigns_are_created_renamed_and_moved_on(shared: Shared) -> None:
    made = shared.ui.post("/ui/campaigns", {"campaign_name": "Autumn", "status": "draft"})
    assert _flash(shared, made) == "Campaign Autumn created."
    campaigns = ok(shared.api.get(CAMPAIGNS, params={"limit": 100}))["result"]
    autumn = next(c for c in campaigns if c["campaign_name"] == "Autumn")
    number = autumn["campaign_id"]
    page = shared.ui.get("/ui/campaigns").text
    assert f'action="/ui/campaigns/{number}/edit"' in page and "style=" not in page
    saved = shared.ui.post(
        f"/ui/campaigns/{number}/edit", {"campaign_name": "Autumn sale", "status": "sending"}
    )
    assert _flash(shared, saved) == "Campaign Autumn sale saved."
    found = ok(shared.api.get(f"{CAMPAIGNS}/{number}"))["result"]
    assert (found["campaign_name"], found["status"]) == ("Autumn sale", "sending")

    api_back = shared.api.put(f"{CAMPAIGNS}/{number}", json={"status": "draft"})
    back = shared.ui.post(
        f"/ui/campaigns/{number}/edit", {"campaign_name": "Autumn sale", "status": "draft"}
    )
    assert back.status_code == 400
    assert slot_text(back.text, f"err-campaign-{number}") == api_message(api_back)
    for posted, slot in (
        ({"campaign_name": "", "status": "draft"}, "err-campaign_name"),
        ({"campaign_name": "x" * 256, "status": "draft"}, "err-campaign_name"),
        ({"campaign_name": "Bad", "status": "flying"}, "err-status"),
    ):
        answer = shared.ui.post("/ui/campaigns", posted)
        assert answer.status_code == 400 and slot_text(answer.text, slot), posted


def test_a_campaign_is_deleted_after_confirmation_unless_a_segment_tests_it(
    shared: Shared,
) -> None:
    made = [
        ok(shared.api.post(CAMPAIGNS, json={"campaign_name": name, "status": "sending"}))
        for name in ("Tested sale", "Spare sale")
    ]
    tested, spare = (m["result"]["campaign_id"] for m in made)
    ok(
        shared.api.post(
            "/v1/marketing/lists/members",
            json={"update_existing": True, "members": [{"email": "reader@example.com"}]},
        )
    )
    events = {"events": [{"email": "reader@example.com", "event": "open"}]}
    ok(shared.api.post(f"{CAMPAIGNS}/{spare}/events", json=events))
    body = {
        "segment_name": "Opened tested",
        "type": 1,
        "condition": {
            "relation": "and",
            "items": [
                {"field_name": "campaign", "op": "==", "value": "open", "campaign_id": tested}
            ],
        },
    }
    ok(shared.api.post(SEGMENTS, json=body))
    page = shared.ui.get("/ui/campaigns").text
    assert f'href="/ui/campaigns/{spare}/delete"' in page
    confirm = shared.ui.get(f"/ui/campaigns/{spare}/delete")
    assert confirm.status_code == 200
    assert "Delete the campaign Spare sale?" in html.unescape(confirm.text)
    assert f'action="/ui/campaigns/{spare}/delete"' in confirm.text
    deleted = shared.ui.post(f"/ui/campaigns/{spare}/delete")
    assert _flash(shared, deleted) == "Campaign Spare sale deleted."
    assert shared.api.get(f"{CAMPAIGNS}/{spare}").status_code == 404

    refused = shared.ui.post(f"/ui/campaigns/{tested}/delete")
    assert refused.status_code == 409
    api = shared.api.delete(f"{CAMPAIGNS}/{tested}")
    assert slot_text(refused.text, "err-delete") == api_message(api)
    assert "Opened tested" in slot_text(refused.text, "err-delete")
    assert "Change or delete those segments first." in refused.text
    assert ok(shared.api.get(f"{CAMPAIGNS}/{tested}"))["result"]["campaign_name"] == "Tested sale"


def test_another_tenants_catalogue_answers_404(shared: Shared) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(shared.db, "catalog-other")
    with shared.server.client(auth=other.auth, timeout=30) as them:
        ok(them.post(FIELDS, json={"field_name": "Theirs", "field_type": 0}))
        ok(
            them.post(
                "/v1/marketing/lists/members",
                json={
                    "update_existing": True,
                    "members": [{"email": "t@example.com", "tags": ["Their tag"]}],
                },
            )
        )
        made = ok(them.post(CAMPAIGNS, json={"campaign_name": "Theirs", "status": "draft"}))
        fields = ok(them.get(FIELDS))["result"]
        field_id = next(f["field_id"] for f in fields if f["field_name"] == "Theirs")
        tag_id = ok(them.get(TAGS))["result"][0]["tag_id"]
        campaign_id = made["result"]["campaign_id"]
        for raw_field, raw_tag, raw_campaign in (
            (field_id, tag_id, campaign_id),
            ("0", "0", "0"),
            ("abc", "abc", "abc"),
            ("9" * 30, "9" * 30, "9" * 30),
        ):
            for method, path in (
                ("get", f"/ui/fields/{raw_field}/edit"),
                ("post", f"/ui/fields/{raw_field}/edit"),
                ("get", f"/ui/fields/{raw_field}/delete"),
                ("post", f"/ui/fields/{raw_field}/delete"),
                ("post", f"/ui/tags/{raw_tag}/rename"),
                ("get", f"/ui/tags/{raw_tag}/delete"),
                ("post", f"/ui/tags/{raw_tag}/delete"),
                ("post", f"/ui/campaigns/{raw_campaign}/edit"),
                ("get", f"/ui/campaigns/{raw_campaign}/delete"),
                ("post", f"/ui/campaigns/{raw_campaign}/delete"),
            ):
                body = {"field_name": "Mine", "tag_name": "Mine", "campaign_name": "Mine"}
                answer = shared.ui.get(path) if method == "get" else shared.ui.post(path, body)
                assert answer.status_code == 404, (method, path, answer.text)
        assert any(f["field_name"] == "Theirs" for f in ok(them.get(FIELDS))["result"])
        assert ok(them.get(TAGS))["result"][0]["tag_name"] == "Their tag"
        assert ok(them.get(f"{CAMPAIGNS}/{campaign_id}"))["result"]["campaign_name"] == "Theirs"


def test_the_catalogue_pages_are_all_in_french() -> None:
    from pathlib import Path

    from segmentd.api.ui import routes_catalog
    from segmentd.api.ui.i18n import FRENCH

    source = Path(routes_catalog.__file__)
    phrases: set[str] = set()
    for name in ("catalog_field_edit.html", "catalog_delete.html", "tags.html", "campaigns.html"):
        text = (source.parent / "templates" / name).read_text()
        phrases |= set(re.findall(r'_\(\s*"([^"]+)"', text))
        phrases |= set(re.findall(r"_\(\s*'([^']+)'", text))
    phrases |= set(re.findall(r'\["([^"]+)", \{', source.read_text()))  # the flash messages
    assert len(phrases) > 25
    assert sorted(p for p in phrases if p not in FRENCH) == []


def test_refusals_show_in_french_on_a_french_page(shared: Shared) -> None:
    """The service's refusal in the page's language; the API keeps its English."""
    made = ok(shared.api.post(CAMPAIGNS, json={"campaign_name": "Fall", "status": "sending"}))
    campaign = made["result"]["campaign_id"]
    item = {"field_name": "campaign", "op": "==", "value": "open", "campaign_id": campaign}
    body = {
        "segment_name": "Fall openers",
        "type": 1,
        "condition": {"relation": "and", "items": [item]},
    }
    ok(shared.api.post(SEGMENTS, json=body))
    french = Ui(shared.server, shared.tenant.api_user, shared.tenant.api_key)
    try:
        french.post("/ui/language", [("lang", "fr"), ("back", "/ui/campaigns")])
        refused = french.post(f"/ui/campaigns/{campaign}/delete")
        assert refused.status_code == 409
        assert slot_text(refused.text, "err-delete") == (
            "la campagne Fall est utilisée par les segments : Fall openers"
        )
        assert "Modifiez ou supprimez d'abord ces segments." in html.unescape(refused.text)
        back = french.post(
            f"/ui/campaigns/{campaign}/edit", {"campaign_name": "Fall", "status": "draft"}
        )
        assert slot_text(back.text, f"err-campaign-{campaign}") == (
            "une campagne en cours d'envoi ne peut pas devenir brouillon"
        )
        nul = french.post("/ui/campaigns", {"campaign_name": "a\x00b", "status": "draft"})
        assert nul.status_code == 400
        assert "[campaign_name]:ne doit pas contenir le caractère NUL" in html.unescape(nul.text)
    finally:
        french.close()
    assert api_message(shared.api.delete(f"{CAMPAIGNS}/{campaign}")) == (
        "campaign Fall is used by segments: Fall openers"
    )
