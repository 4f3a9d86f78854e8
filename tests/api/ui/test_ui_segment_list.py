"""The segments list (search by name, each segment's size and share of its list) and a
segment's clone, over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from tests.api.ui.conftest import Shared
from tests.conftest import wait_built
from tests.support.ui_support import (
    MEMBER_COUNT,
    SEGMENTS,
    expected_three_conditions,
    make_segment,
    ok,
)

SEGMENT_LINK = re.compile(r'href="/ui/segments/([0-9a-f]{24})"')


def _row_of(page: str, segment_id: str) -> str:
    start = page.index(f'href="/ui/segments/{segment_id}"')
    return page[start : page.index("</tr>", start)]


def test_the_list_is_searched_by_name_and_shows_size_and_share(shared: Shared) -> None:
    ui, api = shared.ui, shared.api
    wanted = make_segment(api, segment_name="Share Alpha")
    other = make_segment(api, segment_name="Share Beta")
    page = ui.get("/ui/segments", params={"q": "alpha"}).text
    assert set(SEGMENT_LINK.findall(page)) == {wanted}
    row = _row_of(page, wanted)
    size = len(expected_three_conditions())
    assert f">{size}</td>" in row
    assert f"{size * 100 / MEMBER_COUNT:.1f} %" in row
    assert "complete" in row  # its status, and its freshness beside when it last built
    assert "Share of the list" in page
    assert other in ui.get("/ui/segments", params={"q": "Share"}).text
    assert "Part de la liste" in _french(shared, "/ui/segments?q=Share")


def _french(shared: Shared, path: str) -> str:
    ui = shared.ui
    ok_answer = ui.post("/ui/language", {"lang": "fr", "back": path})
    assert ok_answer.status_code == 303
    try:
        return ui.get(path).text
    finally:
        ui.post("/ui/language", {"lang": "en", "back": path})


def test_a_clone_has_the_condition_and_a_copy_of_the_name(shared: Shared) -> None:
    ui, api = shared.ui, shared.api
    source_id = make_segment(api, segment_name="Cloned source")
    page = ui.get(f"/ui/segments/{source_id}").text
    assert f'action="/ui/segments/{source_id}/clone"' in page
    answer = ui.post(f"/ui/segments/{source_id}/clone")
    assert answer.status_code == 303
    clone_id = answer.headers["location"].rsplit("/", 1)[1]
    assert clone_id != source_id
    source = ok(api.get(f"{SEGMENTS}/{source_id}"))["result"]
    clone = wait_built(api, clone_id)
    assert clone["segment_name"] == "Copy of Cloned source"
    assert clone["condition"] == source["condition"]
    assert clone["member_total"] == source["member_total"] == len(expected_three_conditions())
    assert "Segment Copy of Cloned source created." in ui.get(f"/ui/segments/{clone_id}").text


def test_a_clone_name_is_cut_to_the_longest_allowed(shared: Shared) -> None:
    ui, api = shared.ui, shared.api
    source_id = make_segment(api, segment_name="L" * 48)
    answer = ui.post(f"/ui/segments/{source_id}/clone")
    assert answer.status_code == 303
    clone = ok(api.get(f"{SEGMENTS}/{answer.headers['location'].rsplit('/', 1)[1]}"))["result"]
    assert clone["segment_name"] == ("Copy of " + "L" * 48)[:48]


def test_a_static_segment_or_an_unknown_one_is_not_cloned(shared: Shared) -> None:
    ui = shared.ui
    created = ui.post("/ui/segments/new-static", {"segment_name": "Given only"})
    static_id = created.headers["location"].rsplit("/", 1)[1]
    assert "/clone" not in ui.get(f"/ui/segments/{static_id}").text
    refused = ui.post(f"/ui/segments/{static_id}/clone")
    assert refused.headers["location"] == f"/ui/segments/{static_id}"
    assert "it has no condition to copy" in ui.get(f"/ui/segments/{static_id}").text
    assert ui.post(f"/ui/segments/{'f' * 24}/clone").status_code == 404
    assert ui.post("/ui/segments/not-an-id/clone").status_code == 404


def test_a_clone_without_the_csrf_token_is_refused(shared: Shared) -> None:
    ui, api = shared.ui, shared.api
    source_id = make_segment(api, segment_name="Not cloned")
    before = ok(api.get(SEGMENTS))["total"]
    assert ui.http.post(f"/ui/segments/{source_id}/clone").status_code == 403
    assert ok(api.get(SEGMENTS))["total"] == before
