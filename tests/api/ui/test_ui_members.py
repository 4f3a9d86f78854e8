"""The members pages over HTTP, on SQLite and PostgreSQL: a list's members searched by email or
name and paged, each row linking to its member; a member's fields and tags edited through the
API's own write (its refusals shown beside the input at fault, segments and history following),
unsubscribed and subscribed again, deleted after a confirmation; another tenant's ids answer
404 and no input answers a 500."""

from __future__ import annotations

import html
import re

import httpx

from tests.api.ui.conftest import Shared
from tests.support.ingest_helpers import all_members
from tests.support.ui_support import MEMBERS, api_members, flash_after, make_segment, ok, slot_text

ROW_EMAIL = re.compile(r'class="email"><a href="/ui/members/(\d+)">([^<]+)</a>')


def _add(shared: Shared, slug: str, count: int, **extra: object) -> dict[str, int]:
    """``count`` new members ``{slug}-{i}@example.com`` named "``slug`` i"; email -> id."""
    emails = [f"{slug}-{i}@example.com" for i in range(count)]
    body = [{"email": e, "name": f"{slug} {i}", **extra} for i, e in enumerate(emails)]
    ok(shared.api.post(MEMBERS, json={"update_existing": True, "members": body}))
    every = all_members(shared.api)
    return {email: int(every[email]["id"]) for email in emails}


def _emails(page: str) -> list[str]:
    return [html.unescape(email) for _, email in ROW_EMAIL.findall(page)]


def _flash(shared: Shared, answer: httpx.Response) -> str:
    return flash_after(shared.ui, answer)


def test_members_are_searched_by_email_or_name_and_paged(shared: Shared) -> None:
    ids = _add(shared, "Seeker", 25)
    odd = [{"email": "odd@example.com", "name": "SEEKER x"}]
    ok(shared.api.post(MEMBERS, json={"update_existing": True, "members": odd}))
    page = shared.ui.get("/ui/members", params={"q": "seeker"})
    assert page.status_code == 200, page.text
    assert "Showing 1 to 20 of 26" in page.text
    shown = _emails(page.text)
    assert shown == list(ids)[:20]  # by id: the oldest first
    assert f'href="/ui/members/{ids[shown[0]]}"' in page.text
    assert 'class="subscribed"' in page.text
    nxt = re.search(r'href="([^"]+offset=20)" rel="next"', page.text)
    assert nxt and "q=seeker" in nxt[1]
    second = shared.ui.get(html.unescape(nxt[1]))
    assert _emails(second.text) == [*list(ids)[20:], "odd@example.com"]

    by_name = shared.ui.get("/ui/members", params={"q": "KER x"})
    assert _emails(by_name.text) == ["odd@example.com"]
    wild = shared.ui.get("/ui/members", params={"q": "%"})
    assert wild.status_code == 200 and _emails(wild.text) == []  # % is a character here

    long = shared.ui.get("/ui/members", params={"q": "x" * 101})
    assert long.status_code == 200
    assert slot_text(long.text, "err-q") == "At most 100 characters."
    assert _emails(long.text) == []
    for odd in ("%00", "%ED%A0%80", "%FF", "a" * 10_000, "%25_"):
        answer = shared.ui.get(f"/ui/members?q={odd}")
        assert answer.status_code in (200, 400) and _emails(answer.text) == [], odd  # NUL: 400


def _field_names(page: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'name="field_name" value="([^"]*)"', page)]


def _edit_form(page: str, **changed: str) -> list[tuple[str, str]]:
    """The edit form as the page fills it, with ``changed`` inputs (a field by its name)."""
    values = {
        "email": html.unescape(re.search(r'id="email" name="email" [^>]*value="([^"]*)"', page)[1]),  # type: ignore[index]
        "name": html.unescape(re.search(r'id="name" name="name" value="([^"]*)"', page)[1]),  # type: ignore[index]
        "phone": html.unescape(re.search(r'id="phone" name="phone" value="([^"]*)"', page)[1]),  # type: ignore[index]
        "tags": html.unescape(re.search(r'<textarea id="tags"[^>]*>([^<]*)<', page)[1]),  # type: ignore[index]
    }
    fields: dict[str, str] = {}
    for i, name in enumerate(_field_names(page)):
        found = re.search(rf'id="field-{i}" name="field_value" value="([^"]*)"', page)
        chosen = re.search(rf'id="field-{i}".*?<option value="([^"]*)" selected', page, re.S)
        fields[name] = html.unescape((found or chosen)[1]) if (found or chosen) else ""  # type: ignore[index]
    for key, value in changed.items():
        (values if key in values else fields)[key] = value
    pairs = [(k, v) for k, v in values.items()]
    for name, value in fields.items():
        pairs += [("field_name", name), ("field_value", value)]
    return pairs


def _api_member(shared: Shared, email: str) -> dict[str, object] | None:
    return all_members(shared.api).get(email)


def test_a_member_is_edited_through_the_apis_write(shared: Shared) -> None:
    (email,) = _add(shared, "Editor", 1, fields={"Age": "30", "City": "Lyon"}, tags=["VIP"])
    member_id = int(_api_member(shared, email)["id"])  # type: ignore[index,arg-type]
    older = {"relation": "and", "items": [{"field_name": "Age", "op": ">=", "value": "40"}]}
    segment_id = make_segment(shared.api, older, segment_name="Editors over 40")
    assert email not in api_members(shared.api, segment_id)

    member = shared.ui.get(f"/ui/members/{member_id}")
    assert f'href="/ui/members/{member_id}/edit"' in member.text
    form = shared.ui.get(f"/ui/members/{member_id}/edit")
    assert form.status_code == 200, form.text
    assert "style=" not in form.text
    assert 'value="Editor 0"' in form.text and ">VIP<" in form.text
    pairs = _edit_form(form.text, Age="41", name="Edited", tags="VIP\nNew one")
    saved = shared.ui.post(f"/ui/members/{member_id}/edit", pairs)
    assert _flash(shared, saved) == "Member saved."
    stored = _api_member(shared, email)
    assert stored is not None and stored["name"] == "Edited"
    assert stored["fields"]["Age"] == "41" and stored["fields"]["City"] == "Lyon"  # type: ignore[index]
    assert sorted(stored["tag_names"]) == ["New one", "VIP"]  # type: ignore[arg-type]
    assert email in api_members(shared.api, segment_id)  # at once, no rebuild
    page = shared.ui.get(f"/ui/members/{member_id}").text
    assert f'href="/ui/segments/{segment_id}"' in page  # in the segment now
    assert 'class="badge entered"' in page  # and the history says so

    bad_age = ok(
        shared.api.post(
            MEMBERS,
            json={"update_existing": True, "members": [{"email": email, "fields": {"Age": "old"}}]},
        )
    )["result"]["errors"][0]["message"]
    refused = shared.ui.post(f"/ui/members/{member_id}/edit", _edit_form(form.text, Age="old"))
    assert refused.status_code == 400, refused.text
    age_slot = f"err-field-{_field_names(form.text).index('Age')}"
    assert slot_text(refused.text, age_slot) == bad_age
    assert 'value="old"' in refused.text  # what was typed stays
    for changed, slot in (
        ({"tags": "x" * 300}, "err-tags"),
        ({"name": "n" * 300}, "err-name"),
        ({"City": "Nice"}, f"err-field-{_field_names(form.text).index('City')}"),
    ):
        answer = shared.ui.post(f"/ui/members/{member_id}/edit", _edit_form(form.text, **changed))
        assert answer.status_code == 400 and slot_text(answer.text, slot), (changed, answer.text)
    unknown = shared.ui.post(
        f"/ui/members/{member_id}/edit", [("field_name", "Nope"), ("field_value", "1")]
    )
    assert unknown.status_code == 400 and "field Nope does not exist" in html.unescape(unknown.text)
    assert _api_member(shared, email)["fields"]["Age"] == "41"  # type: ignore[index]

    cleared = shared.ui.post(
        f"/ui/members/{member_id}/edit", _edit_form(form.text, Age="", tags="")
    )
    assert cleared.status_code == 303
    stored = _api_member(shared, email)
    assert stored is not None and not stored["fields"].get("Age") and stored["tag_names"] == []  # type: ignore[union-attr]
    assert email not in api_members(shared.api, segment_id)


def test_a_members_email_is_changed_and_its_segments_follow(shared: Shared) -> None:
    ids = _add(shared, "Mover", 2, fields={"Age": "30"})
    mover, other = list(ids)
    member_id = ids[mover]
    by_domain = {
        "relation": "and",
        "items": [{"field_name": "Domain", "op": "==", "value": "moved.org"}],
    }
    segment_id = make_segment(shared.api, by_domain, segment_name="On moved org")
    assert api_members(shared.api, segment_id) == []
    form = shared.ui.get(f"/ui/members/{member_id}/edit").text
    assert f'value="{mover}"' in form

    taken = shared.ui.post(f"/ui/members/{member_id}/edit", _edit_form(form, email=other.upper()))
    assert taken.status_code == 400
    assert slot_text(taken.text, "err-email") == (
        f"{other.upper()} is the email of member {ids[other]} of this list"
    )
    assert f'value="{other.upper()}"' in taken.text  # what was typed stays
    bad = shared.ui.post(f"/ui/members/{member_id}/edit", _edit_form(form, email="nope"))
    assert slot_text(bad.text, "err-email") == "email must be 6 to 128 characters"
    both = shared.ui.post(
        f"/ui/members/{member_id}/edit", _edit_form(form, email="x@moved.org", Age="old")
    )
    assert both.status_code == 400  # the age refused: the new email is not kept either
    assert _api_member(shared, mover) is not None and _api_member(shared, "x@moved.org") is None

    moved = shared.ui.post(
        f"/ui/members/{member_id}/edit", _edit_form(form, email="Mover@Moved.org", Age="31")
    )
    assert _flash(shared, moved) == "Member saved."
    stored = _api_member(shared, "Mover@Moved.org")
    assert stored is not None and int(stored["id"]) == member_id  # type: ignore[call-overload]
    assert stored["fields"]["Age"] == "31"  # type: ignore[index]
    assert _api_member(shared, mover) is None
    assert api_members(shared.api, segment_id) == ["Mover@Moved.org"]  # at once, no rebuild
    again = shared.ui.post(
        f"/ui/members/{member_id}/edit", _edit_form(form, email="mover@moved.org")
    )
    assert again.status_code == 303  # its own address in another letter case


def test_a_member_is_unsubscribed_subscribed_again_and_deleted(shared: Shared) -> None:
    (email,) = _add(shared, "Leaver", 1)
    member_id = int(_api_member(shared, email)["id"])  # type: ignore[index,arg-type]
    gone = shared.ui.post(f"/ui/members/{member_id}/subscription", {"subscribed": "0"})
    assert _flash(shared, gone) == "Member unsubscribed."
    assert _api_member(shared, email)["unsubscribe_time"]  # type: ignore[index]
    page = shared.ui.get(f"/ui/members/{member_id}").text
    assert 'class="badge unsubscribed"' in page and "Subscribe again" in page
    back = shared.ui.post(f"/ui/members/{member_id}/subscription", {"subscribed": "1"})
    assert _flash(shared, back) == "Member subscribed again."
    assert not _api_member(shared, email)["unsubscribe_time"]  # type: ignore[index]

    confirm = shared.ui.get(f"/ui/members/{member_id}/delete")
    assert confirm.status_code == 200 and f"Delete {email}?" in html.unescape(confirm.text)
    assert _api_member(shared, email) is not None  # asking deletes nothing
    deleted = shared.ui.post(f"/ui/members/{member_id}/delete")
    assert deleted.headers["location"].startswith("/ui/members?list=")
    assert _flash(shared, deleted) == f"Member {email} deleted."
    assert _api_member(shared, email) is None
    assert shared.ui.get(f"/ui/members/{member_id}").status_code == 404
    assert shared.ui.post(f"/ui/members/{member_id}/delete").status_code == 404


def test_other_tenants_members_answer_404(shared: Shared) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(shared.db, "members-other")
    with shared.server.client(auth=other.auth, timeout=30) as them:
        body = {"update_existing": True, "members": [{"email": "their@example.com", "name": "T"}]}
        ok(them.post(MEMBERS, json=body))
        member_id = int(all_members(them)["their@example.com"]["id"])
    for raw in (str(member_id), "0", "abc", "99999999999999999999"):
        for method, path, data in (
            ("get", f"/ui/members/{raw}/edit", None),
            ("post", f"/ui/members/{raw}/edit", {"name": "Mine"}),
            ("post", f"/ui/members/{raw}/subscription", {"subscribed": "0"}),
            ("get", f"/ui/members/{raw}/delete", None),
            ("post", f"/ui/members/{raw}/delete", None),
        ):
            answer = shared.ui.get(path) if method == "get" else shared.ui.post(path, data)
            assert answer.status_code == 404, (method, path, answer.text)
    with shared.server.client(auth=other.auth, timeout=30) as them:
        theirs = all_members(them)["their@example.com"]
    assert theirs["name"] == "T" and not theirs["unsubscribe_time"]


def test_the_members_pages_are_all_in_french() -> None:
    from pathlib import Path

    from segmentd.api.ui import routes_member_edit
    from segmentd.api.ui.i18n import FRENCH, PLURALS

    templates = Path(routes_member_edit.__file__).parent / "templates"
    phrases: set[str] = set()
    for name in ("members.html", "member.html", "member_edit.html", "member_delete.html"):
        text = (templates / name).read_text()
        phrases |= set(re.findall(r'_\(\s*"([^"]+)"', text))
        phrases |= set(re.findall(r"_\(\s*'([^']+)'", text))
    source = Path(routes_member_edit.__file__).read_text()
    phrases |= set(re.findall(r'"(Member [^"]+)"', source))  # the flash messages
    assert len(phrases) > 25
    missing = sorted(p for p in phrases if p not in FRENCH and p not in PLURALS["fr"])
    assert missing == []
