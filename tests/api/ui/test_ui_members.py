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
from tests.support.ui_support import MEMBERS, ok, slot_text

FLASH = re.compile(r'<div class="flash" role="status">(.*?)</div>', re.S)
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
    assert answer.status_code == 303, answer.text
    page = shared.ui.get(answer.headers["location"]).text
    match = FLASH.search(page)
    assert match, page
    return html.unescape(re.sub(r"<[^>]+>", " ", match[1])).strip()


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
