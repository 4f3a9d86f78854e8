"""The membership history in the UI over HTTP, on SQLite and PostgreSQL: a segment's size over
its last 30 days and its entries and exits (paged backwards by the feed's seq), a member's
page (fields, tags, subscription, segments now, history), each checked against the API's view
of the same history; another tenant's ids answer 404."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from tests.api.ui.conftest import Shared
from tests.support.ingest_helpers import all_members
from tests.support.ui_support import CAMPAIGNS, MEMBERS, SEGMENTS, make_segment, ok

ROW = re.compile(r"<tr>\s*(.*?)</tr>", re.S)


def _named(name: str) -> dict[str, object]:
    return {
        "relation": "and",
        "items": [{"field_name": "Name", "op": "==", "value": name}],
    }


def _members(shared: Shared, name: str, count: int, **extra: object) -> dict[str, int]:
    """``count`` new members named ``name``; email -> member id, in creation order."""
    slug = name.strip().replace(" ", "-").lower()
    emails = [f"{slug}-{i}@example.com" for i in range(count)]
    body = [{"email": email, "name": name, **extra} for email in emails]
    ok(shared.api.post(MEMBERS, json={"update_existing": True, "members": body}))
    every = all_members(shared.api)
    return {email: int(every[email]["id"]) for email in emails}


def _api_feed(shared: Shared, path: str) -> list[tuple[int, str]]:
    """(member_id, change) of every change of the feed at ``path``, newest first."""
    changes: list[tuple[int, str]] = []
    after = 0
    while True:
        page = ok(shared.api.get(path, params={"after": after, "limit": 1000}))
        changes += [(c["member_id"], c["change"]) for c in page["result"]]
        if not page["result"]:
            return changes[::-1]
        after = page["next_after"]


def _change_rows(page: str) -> list[tuple[int, str]]:
    """(member_id, change) of each row of the page's change table."""
    table = page.split('<table class="changes', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in ROW.findall(table.split("<tbody>", 1)[1]):
        member = re.search(r'href="/ui/members/(\d+)"', row)
        change = re.search(r'class="badge (entered|left)"', row)
        if member and change:
            rows.append((int(member[1]), change[1]))
    return rows


def test_a_segment_shows_its_size_and_its_entries_and_exits(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    ids = _members(shared, "Hist one ", 25)
    segment_id = make_segment(client, _named("Hist one "), segment_name="Hist one")
    first = next(iter(ids))
    ok(
        client.post(
            MEMBERS, json={"update_existing": True, "members": [{"email": first, "name": "Gone"}]}
        )
    )
    today = datetime.now(UTC).date().isoformat()

    page = ui.get(f"/ui/segments/{segment_id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert '<svg class="chart"' in page.text and "Size over the last 30 days" in text
    assert f"<title>{today}: 24</title>" in page.text  # today's bar: the count now
    assert re.search(rf"<td[^>]*>{today}</td><td[^>]*>24</td>", page.text)
    assert "style=" not in page.text  # the page's CSP allows no inline style

    feed = _api_feed(shared, f"/v1/segments/{segment_id}/changes")
    assert len(feed) == 26 and feed[0] == (ids[first], "left")
    shown = _change_rows(page.text)
    assert shown == feed[:20]
    assert "a change to the member" in text and "a build" in text
    assert f'<a href="/ui/members/{ids[first]}">{first}</a>' in page.text
    more = re.search(r'href="(/ui/segments/[0-9a-f]+/changes\?before=\d+)"', page.text)
    assert more, "no link to older changes"
    older = ui.get(more[1])
    assert older.status_code == 200
    assert _change_rows(older.text) == feed[20:]
    assert "?before=" not in older.text.split("Newest", 1)[1]  # the oldest page: no more
    newest = ui.get(f"/ui/segments/{segment_id}/changes?before=junk")
    assert _change_rows(newest.text) == feed  # a cursor that is no number: the newest

    # A member deleted leaves the segment; its rows name it by id, without a link.
    gone = list(ids.values())[1]
    ok(client.request("DELETE", MEMBERS, json={"member_ids": [str(gone)]}))
    after = html.unescape(ui.get(f"/ui/segments/{segment_id}/changes").text)
    assert after.count(f"member {gone} (deleted)") == 2  # entered, then left
    assert f'href="/ui/members/{gone}"' not in after and "member deleted" in after
    assert ui.get(f"/ui/members/{gone}").status_code == 404

    ui.post("/ui/language", {"lang": "fr", "back": "/ui/segments"})
    try:
        french = html.unescape(ui.get(f"/ui/segments/{segment_id}").text)
        assert "Entrées et sorties" in french and "Taille sur les 30 derniers jours" in french
        assert "une modification du membre" in french and ">sorti<" in french
    finally:
        ui.post("/ui/language", {"lang": "en", "back": "/ui/segments"})


def test_a_member_page_shows_fields_tags_subscription_segments_and_history(
    shared: Shared,
) -> None:
    ui, client = shared.ui, shared.api
    ids = _members(shared, "Hist two ", 1, tags=["Gold"], fields={"City": "Lyon"})
    ((email, member_id),) = ids.items()
    holding = make_segment(client, _named("Hist two "), segment_name="Hist two in")
    other = make_segment(client, _named("Nobody at all"), segment_name="Hist two out")
    segment_page = ui.get(f"/ui/segments/{holding}").text
    assert f'href="/ui/members/{member_id}"' in segment_page  # linked from the members table
    ok(client.post(f"{MEMBERS}/unsubscribe", json={"emails": [email]}))

    page = ui.get(f"/ui/members/{member_id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert f"<h1>{email}</h1>" in text and "Lyon" in text and ">Gold<" in text
    subscription = re.search(r'id="subscription">(.*?)</dd>', text, re.S)
    assert subscription and "unsubscribed" in subscription[1]
    now_in = text.split("In these segments now", 1)[1].split("</section>", 1)[0]
    assert f'href="/ui/segments/{holding}"' in now_in and other not in now_in
    history = text.split("Membership history", 1)[1]
    assert f'href="/ui/segments/{holding}">Hist two in</a>' in history
    api = ok(client.get(f"/v1/members/{member_id}/changes"))["result"]
    assert [(c["segment_id"], c["change"]) for c in api] == [(holding, "entered")]
    assert history.count('class="badge entered"') == 1 and 'class="badge left"' not in history

    ui.post("/ui/language", {"lang": "fr", "back": "/ui/segments"})
    try:
        french = html.unescape(ui.get(f"/ui/members/{member_id}").text)
        assert "Dans ces segments actuellement" in french and "Historique d'appartenance" in french
        assert "désabonné" in french
    finally:
        ui.post("/ui/language", {"lang": "en", "back": "/ui/segments"})


def test_a_member_page_shows_its_campaign_activity(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    ((email, member_id),) = _members(shared, "Hist reader ", 1).items()
    ((_, idle_id),) = _members(shared, "Hist idle ", 1).items()
    made = []
    for name in ("Hist spring", "Hist summer"):
        body = {"campaign_name": name, "status": "sending"}
        made.append(ok(client.post(CAMPAIGNS, json=body))["result"]["campaign_id"])
    events = [
        {"email": email, "event": "sent", "time": "2026-03-01 09:00:00"},
        {"email": email, "event": "click", "time": "2026-03-02 10:00:00"},
    ]
    ok(client.post(f"{CAMPAIGNS}/{made[0]}/events", json={"events": events}))
    later = [{"email": email, "event": "sent", "time": "2026-06-01 09:00:00"}]
    ok(client.post(f"{CAMPAIGNS}/{made[1]}/events", json={"events": later}))

    text = html.unescape(ui.get(f"/ui/members/{member_id}").text)
    section = text.split("Campaign activity", 1)[1].split("</section>", 1)[0]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in ROW.findall(section)]
    rows = [row for row in cells if row]  # not the head's
    assert [row[0] for row in rows] == ["Hist summer", "Hist spring"]  # the latest first
    summer, spring = rows
    assert summer[1] and not summer[2] and not summer[3]  # sent only
    assert all(spring[1:])  # a click counts as opened and sent (ingestion keeps the order)
    idle = html.unescape(ui.get(f"/ui/members/{idle_id}").text)
    assert "No campaign activity." in idle


def test_a_member_page_pages_its_history_backwards(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    ((email, member_id),) = _members(shared, "Hist three ", 1).items()
    segment_id = make_segment(client, _named("Hist three "), segment_name="Hist three")
    for name in ["Hist away", "Hist three "] * 26:  # 52 more changes: out, in, out, in ...
        body = {"update_existing": True, "members": [{"email": email, "name": name}]}
        ok(client.post(MEMBERS, json=body))
    feed = [
        (c["segment_id"], c["change"])
        for c in ok(client.get(f"/v1/members/{member_id}/changes", params={"limit": 100}))["result"]
    ][::-1]
    assert len(feed) == 53

    def rows(page: str) -> list[tuple[str, str]]:
        table = page.split('<table class="changes', 1)[1].split("</table>", 1)[0]
        found = re.findall(
            r'href="/ui/segments/([0-9a-f]+)".*?class="badge (entered|left)"', table, re.S
        )
        return [(s, c) for s, c in found]

    first = ui.get(f"/ui/members/{member_id}").text
    assert rows(first) == feed[:50]
    older = re.search(r'href="(/ui/members/\d+\?before=\d+)"', first)
    assert older
    assert rows(ui.get(older[1]).text) == feed[50:]
    assert segment_id in first


def test_other_tenants_and_unknown_ids_answer_404(shared: Shared) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(shared.db, "other")
    with shared.server.client(auth=other.auth, timeout=30) as them:
        body = {"update_existing": True, "members": [{"email": "theirs@example.com", "name": "T"}]}
        ok(them.post(MEMBERS, json=body))
        member_id = int(all_members(them)["theirs@example.com"]["id"])
        segment_id = make_segment(them, _named("T"), segment_name="Theirs")
    ui = shared.ui
    for path in (
        f"/ui/members/{member_id}",
        f"/ui/segments/{segment_id}/changes",
        f"/ui/segments/{segment_id}",
        "/ui/members/0",
        "/ui/members/abc",
        "/ui/members/99999999999999999999",
        f"/ui/segments/{'0' * 24}/changes",
    ):
        answer = ui.get(path)
        assert answer.status_code == 404, path
        assert "Page not found" in answer.text
    assert ok(shared.api.get(SEGMENTS))  # the signed-in tenant's own API still answers


def test_the_history_and_webhook_pages_are_all_in_french() -> None:
    """Every phrase the new pages write has its French (no page half translated)."""
    from pathlib import Path

    from segmentd.api.ui import history_view, routes_webhooks
    from segmentd.api.ui.i18n import FRENCH, PLURALS

    templates = Path(history_view.__file__).parent / "templates"
    phrases = set(history_view.CAUSE_WORDS.values()) | set(routes_webhooks.STATE_WORDS.values())
    for name in (
        "member.html",
        "segment_changes.html",
        "partials/history.html",
        "webhooks.html",
        "webhook_delete.html",
    ):
        text = (templates / name).read_text()
        phrases |= set(re.findall(r'_\(\s*"([^"]+)"', text))
        phrases |= set(re.findall(r"_\(\s*'([^']+)'", text))
    source = Path(routes_webhooks.__file__).read_text()
    phrases |= set(re.findall(r'\["([^"]+)", \{', source))  # the flash messages
    assert len(phrases) > 60
    missing = sorted(p for p in phrases if p not in FRENCH and p not in PLURALS["fr"])
    assert missing == []


def test_the_size_chart_scales_known_days_to_the_largest() -> None:
    from datetime import date, timedelta

    from segmentd.api.ui.history_view import CHART_HEIGHT, CHART_WIDTH, size_chart

    first = date(2026, 3, 1)
    sizes = [None, None, 0, 50, 100, 75]
    chart = size_chart([(first + timedelta(days=i), size) for i, size in enumerate(sizes)])
    assert (chart.top, chart.low, chart.first, chart.last) == (100, 0, first, date(2026, 3, 6))
    assert [bar.size for bar in chart.bars] == [50, 100, 75]  # unknown and empty days: no bar
    slot = CHART_WIDTH / len(sizes)
    tallest = chart.bars[1]
    assert tallest.height == CHART_HEIGHT and tallest.y == 0
    assert chart.bars[0].height == CHART_HEIGHT / 2 and chart.bars[0].y == CHART_HEIGHT / 2
    assert [round(bar.x // slot) for bar in chart.bars] == [3, 4, 5]  # each in its day's slot
    assert all(bar.x + bar.width <= CHART_WIDTH for bar in chart.bars)
    nothing = size_chart([(first, None)])
    assert nothing.bars == [] and nothing.low is None and nothing.top == 0
