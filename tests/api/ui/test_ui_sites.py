"""The sites page over HTTP, on SQLite and PostgreSQL: a site created (its Commanders Act number
kept, its token hidden until revealed), its allowed origins set and enforced by the look-up,
its page snippet with a copy button (an external script, no inline one); refusals in the use
cases' words beside their input, as the native API answers them; another tenant's site
answers 404."""

from __future__ import annotations

import html
import re

import httpx

from tests.api.ui.conftest import Shared
from tests.support.ui_support import flash_after, ok, slot_text

JSONP = "/api/dms/segmentation/segments"


def _flash(shared: Shared, answer: httpx.Response) -> str:
    return flash_after(shared.ui, answer)


def _site(shared: Shared, site_id: int) -> dict[str, object]:
    sites = ok(shared.api.get("/v1/sites"))["result"]
    return next(site for site in sites if site["site_id"] == site_id)


def test_a_site_is_created_with_its_number_and_its_token_hidden(shared: Shared) -> None:
    made = shared.ui.post("/ui/sites", {"name": "  Shop  ", "site_id": "4242"})
    assert _flash(shared, made) == "Site Shop created (site=4242)."
    assert _site(shared, 4242)["name"] == "Shop"
    page = shared.ui.get("/ui/sites").text
    assert 'id="site-4242"' in page and "style=" not in page
    assert f"{JSONP}?site=4242&amp;callback=tC_funcEngage" in page
    assert 'data-copy="snippet-4242"' in page and '<script src="/ui/static/copy.js' in page
    assert "<script>" not in page.split("<textarea", 1)[0]  # no inline script before the snippet
    token = ok(shared.api.get("/v1/sites/4242/token"))["result"]["token"]
    assert token not in page  # shown on an explicit action only
    revealed = shared.ui.post("/ui/sites/4242/token", headers={"HX-Request": "true"})
    assert f'value="{token}"' in revealed.text
    script = shared.ui.get("/ui/static/copy.js")
    assert script.status_code == 200 and "clipboard" in script.text

    unnumbered = shared.ui.post("/ui/sites", {"name": "Blog", "site_id": ""})
    assert unnumbered.status_code == 303
    (blog,) = [s for s in ok(shared.api.get("/v1/sites"))["result"] if s["name"] == "Blog"]
    assert int(blog["site_id"]) > 4242  # numbered after the highest


def test_site_refusals_show_beside_their_input(shared: Shared) -> None:
    taken = ok(shared.api.get("/v1/sites"))["result"][0]["site_id"]
    api_taken = shared.api.post("/v1/sites", json={"name": "Twice", "site_id": taken})
    assert api_taken.status_code == 409
    for posted, slot, words in (
        ({"name": "Twice", "site_id": str(taken)}, "err-site_id", api_taken.json()["message"]),
        ({"name": "   ", "site_id": ""}, "err-name", "must not be blank"),
        ({"name": "n" * 129, "site_id": ""}, "err-name", "at most 128 characters"),
        ({"name": "Tab\there", "site_id": ""}, "err-name", "must not contain control characters"),
        ({"name": "Big", "site_id": "2147483648"}, "err-site_id", "a site number is 1 to"),
        ({"name": "Zero", "site_id": "0"}, "err-site_id", "a site number is 1 to"),
        ({"name": "Word", "site_id": "twelve"}, "err-site_id", "a whole number"),
        ({"name": "Huge", "site_id": "9" * 40}, "err-site_id", "a whole number"),
    ):
        answer = shared.ui.post("/ui/sites", posted)
        assert answer.status_code == 400, (posted, answer.text)
        assert words in slot_text(answer.text, slot), (posted, slot_text(answer.text, slot))
        assert f'value="{html.escape(posted["name"].strip())}"' in answer.text  # as typed
    names = [s["name"] for s in ok(shared.api.get("/v1/sites"))["result"]]
    assert not {"Twice", "Big", "Zero", "Word", "Huge"} & set(names)


def test_allowed_origins_are_set_and_the_lookup_keeps_to_them(shared: Shared) -> None:
    ok(shared.api.post("/v1/sites", json={"name": "Origins", "site_id": 5151}))
    saved = shared.ui.post(
        "/ui/sites/5151/origins",
        {
            "allowed_origins": "HTTPS://Shop.Example:443/\n\nhttps://shop.example\nhttp://b.example:8080"
        },
    )
    assert _flash(shared, saved) == "Allowed origins of Origins saved."
    origins = ["https://shop.example", "http://b.example:8080"]
    assert _site(shared, 5151)["allowed_origins"] == origins  # normalised, each once
    page = shared.ui.get("/ui/sites").text
    assert "https://shop.example\nhttp://b.example:8080</textarea>" in page
    lookup = f"{JSONP}?site=5151&callback=cb"
    assert shared.api.get(lookup, headers={"Origin": "https://evil.example"}).status_code == 403
    assert shared.api.get(lookup, headers={"Origin": "https://shop.example"}).status_code == 200

    api_bad = shared.api.put("/v1/sites/5151", json={"allowed_origins": ["ftp://x"]})
    assert api_bad.status_code == 400
    bad = shared.ui.post(
        "/ui/sites/5151/origins", {"allowed_origins": "https://ok.example\nftp://x"}
    )
    assert bad.status_code == 400
    assert (
        slot_text(bad.text, "err-origins-5151")
        == "'ftp://x' is not an origin like https://host[:port]"
    )
    assert "https://ok.example\nftp://x</textarea>" in html.unescape(bad.text)
    many = "\n".join(f"https://s{i}.example" for i in range(51))
    too_many = shared.ui.post("/ui/sites/5151/origins", {"allowed_origins": many})
    assert too_many.status_code == 400
    assert slot_text(too_many.text, "err-origins-5151") == "at most 50 origins"
    assert _site(shared, 5151)["allowed_origins"] == origins  # unchanged by refusals

    cleared = shared.ui.post("/ui/sites/5151/origins", {"allowed_origins": ""})
    assert cleared.status_code == 303 and _site(shared, 5151)["allowed_origins"] == []
    assert shared.api.get(lookup, headers={"Origin": "https://evil.example"}).status_code == 200


def test_another_tenants_site_answers_404(shared: Shared) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(shared.db, "sites-other")
    with shared.server.client(auth=other.auth, timeout=30) as them:
        theirs = ok(them.get("/v1/sites"))["result"][0]["site_id"]
        token = ok(them.get(f"/v1/sites/{theirs}/token"))["result"]["token"]
        for raw in (str(theirs), "0", "abc", "9" * 30):
            for method, path in (
                ("post", f"/ui/sites/{raw}/origins"),
                ("post", f"/ui/sites/{raw}/token"),
                ("get", f"/ui/sites/{raw}/rotate"),
                ("post", f"/ui/sites/{raw}/rotate"),
            ):
                if method == "get":
                    answer = shared.ui.get(path)
                else:
                    answer = shared.ui.post(path, {"allowed_origins": "https://x.example"})
                assert answer.status_code == 404, (method, path, answer.text)
        site = next(s for s in ok(them.get("/v1/sites"))["result"] if s["site_id"] == theirs)
        assert site["allowed_origins"] == []
        assert ok(them.get(f"/v1/sites/{theirs}/token"))["result"]["token"] == token


def test_the_sites_page_is_all_in_french() -> None:
    from pathlib import Path

    from segmentd.api.ui import routes_sites
    from segmentd.api.ui.i18n import FRENCH

    source = Path(routes_sites.__file__)
    text = (source.parent / "templates" / "sites.html").read_text()
    phrases = set(re.findall(r'_\(\s*"([^"]+)"', text)) | set(re.findall(r"_\(\s*'([^']+)'", text))
    phrases |= set(re.findall(r'\["([^"]+)", \{', source.read_text()))  # the flash messages
    assert len(phrases) > 15
    assert sorted(p for p in phrases if p not in FRENCH) == []
