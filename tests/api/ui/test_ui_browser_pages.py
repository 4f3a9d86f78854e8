"""The web UI in Debian's Chromium (Playwright), on SQLite: a static segment's members given
and taken back by hand, and pages that log no console error, meet no Content-Security-Policy
violation, show no error before the user typed anything and fit 1280 and 390 pixels.
The membership history's pages (a segment's size and its entries and exits, a member's page)
and the webhooks page, by the mouse; members searched, edited (their email too), unsubscribed
and deleted; a site created, its origins set and its snippet copied; a field edited and
deleted, tags renamed, a campaign created and deleted; a CSV uploaded, mapped and imported.
Screenshots go to test-artifacts/screenshots/ (``static-segment-*``, ``builder-new-row-*``,
``segment-history-*``, ``member-*``, ``webhooks-*``, ``members-search-*``, ``member-edit-*``,
``member-delete-*``, ``sites-*``, ``catalogue-*``, ``imports-*``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from segmentd.storage.db import Database
from tests.conftest import LiveServer, make_tenant, test_settings
from tests.support.ui_browser import (
    WIDTHS,
    Console,
    Site,
    check_labels,
    new_page,
    pick,
    shoot,
    sign_in,
)
from tests.support.ui_support import (
    MEMBERS,
    SEGMENTS,
    api_members,
    email_of,
    expected_three_conditions,
    make_segment,
    ok,
    seed,
)

pytestmark = pytest.mark.slow

# Elements wider than the page (a table may scroll inside its own region, never the page).
TOO_WIDE = """() => [...document.querySelectorAll('main *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                && !el.closest('.table-wrap'))
  .map(el => el.tagName + '#' + el.id + '.' + el.className).slice(0, 5)"""
# Tables wider than their scrolling region.
TABLES_SCROLLING = """() => [...document.querySelectorAll('.table-wrap')]
  .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.getAttribute('aria-label'))"""
# Selects too narrow for their chosen words (the text, its padding and the arrow).
CUT_SELECTS = """() => {
  const pen = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('main select:not([multiple])')]
    .filter(el => el.offsetParent !== null && el.selectedIndex >= 0)
    .filter(el => {
      const style = getComputedStyle(el);
      pen.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const text = pen.measureText(el.options[el.selectedIndex].text).width;
      const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
      return text + padding + 12 > el.clientWidth;
    })
    .map(el => `${el.id}: ${el.options[el.selectedIndex].text}`);
}"""


def fits(page: Any, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, name
    assert page.evaluate(TOO_WIDE) == [], name
    assert page.evaluate(TABLES_SCROLLING) == [], name


@pytest.mark.parametrize("width", list(WIDTHS))
def test_marketer_gives_and_takes_back_static_members(
    browser: Any, site: Site, width: str, tmp_path: Any
) -> None:
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)
    page.get_by_role("link", name="New static segment").click()
    page.get_by_label("Segment name").fill("Hand.picked")
    page.get_by_role("button", name="Create the segment").click()
    page.locator("#err-segment_name").filter(has_text=re.compile(r"\S")).wait_for()
    page.get_by_label("Segment name").fill(f"Hand picked {width}")
    page.get_by_role("button", name="Create the segment").click()
    page.wait_for_url(re.compile(r"/ui/segments/[0-9a-f]{24}$"))
    segment_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("status").filter(has_text="Static segment").wait_for()

    page.get_by_label("Emails or member ids").fill("ghost@example.com")
    page.get_by_role("button", name="Add members").click()
    page.locator("#err-entries").filter(has_text="ghost@example.com names no member").wait_for()
    page.get_by_label("Emails or member ids").fill(f"{email_of(1)}\n{email_of(2)}")
    page.get_by_role("button", name="Add members").click()
    page.get_by_role("status").filter(has_text="2 members added to the segment.").wait_for()

    csv_file = tmp_path / "given.csv"
    csv_file.write_text(f"email\n{email_of(2)}\n{email_of(3)}\nnobody@example.com\n")
    page.get_by_label("CSV of emails").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload the CSV").click()
    said = page.get_by_role("status")
    said.filter(has_text="1 member added to the segment.").wait_for()
    assert "1 member was in the segment already." in said.inner_text()
    assert "1 email names no member of the list: nobody@example.com" in said.inner_text()
    assert page.locator("#member-total").inner_text() == "3"
    check_labels(page)
    fits(page, "static segment")
    shoot(page, "static-segment", width)

    page.get_by_label(f"Select {email_of(1)}").check()
    page.get_by_role("button", name="Remove selected members…").click()
    page.get_by_role("heading", name=re.compile("Remove 1 member from the segment")).wait_for()
    assert sorted(api_members(site.api, segment_id)) == [email_of(i) for i in (1, 2, 3)]
    shoot(page, "static-remove", width)
    page.get_by_role("button", name="Remove the members").click()
    page.get_by_role("status").filter(has_text="1 member removed from the segment.").wait_for()
    assert sorted(api_members(site.api, segment_id)) == [email_of(2), email_of(3)]
    assert ok(site.api.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"] == 2
    console.check(refused_forms=2)  # the name, then the unknown email


@pytest.mark.parametrize("width", list(WIDTHS))
def test_builder_and_segment_pages_log_no_error_and_fit(
    browser: Any, site: Site, width: str
) -> None:
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)
    page.get_by_role("link", name="New segment", exact=True).click()
    count = page.locator("#preview-count")
    count.wait_for()
    page.get_by_label("Segment name").fill("Fresh rows")
    for node, subject, ready in (
        ("r-0", "field:Joined", "#value_{node}[type=date]"),
        ("r-1", "campaign", "#campaign_{node}"),
        ("r-2", "field:Birthday", "#month_{node}"),
    ):
        if node != "r-0":
            page.get_by_role("button", name="Add a condition", exact=True).click()
            page.locator(f"#subject_{node}").wait_for()
        pick(page, node, subject, ready)
        page.wait_for_load_state("networkidle")
        count.wait_for()  # the count stays while a new row is blank
        errors = page.locator("#builder p.error").all_inner_texts()
        assert [e for e in errors if e.strip()] == [], (node, errors)
    assert page.evaluate(CUT_SELECTS) == []
    fits(page, "builder")
    shoot(page, "builder-new-rows", width)
    page.locator("#month_r-2").select_option("3")
    page.locator("#day_r-2").select_option("15")
    page.locator("#campaign_r-1").select_option(str(site_campaign(site)))
    page.locator("#value_r-0").fill("2024-01-10")
    page.wait_for_load_state("networkidle")
    count.wait_for()
    page.get_by_role("button", name="Save and build").click()
    page.wait_for_url(re.compile(r"/ui/segments/[0-9a-f]{24}$"))
    page.locator("#status-word").filter(has_text="complete").wait_for()
    fits(page, "segment")
    for path in ("/ui/segments", "/ui/members", "/ui/fields"):
        page.goto(site.server.url + path)
        fits(page, path)
    console.check()


def site_campaign(site: Site) -> int:
    campaigns = ok(site.api.get("/v1/marketing/campaigns"))["result"]
    return next(int(c["campaign_id"]) for c in campaigns if c["campaign_name"] == "Spring sale")


@pytest.fixture
def hook_site(tmp_path: Any) -> Iterator[Site]:
    """The seeded live server of ``site``, allowing webhooks to 127.0.0.1."""
    url = f"sqlite:///{tmp_path / 'segmentd.db'}"
    db = Database(url)
    db.migrate()
    tenant = make_tenant(db)
    with LiveServer(test_settings(url, webhook_allowed_hosts="127.0.0.1")) as server:
        live = Site(server, tenant, db)
        seed(live.api)
        yield live
        live.api.close()
    db.dispose()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_history_member_and_webhook_pages_log_no_error_and_fit(
    browser: Any, hook_site: Site, width: str
) -> None:
    site = hook_site
    segment_id = make_segment(site.api, segment_name="History")
    leaver = email_of(expected_three_conditions()[0])
    body = {"update_existing": True, "members": [{"email": leaver, "fields": {"Age": "18"}}]}
    ok(site.api.post(MEMBERS, json=body))
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)

    page.goto(f"{site.server.url}/ui/segments/{segment_id}")
    chart = page.locator("svg.chart")
    assert chart.is_visible() and chart.bounding_box()["height"] > 50
    assert page.locator("svg.chart rect.bar").count() >= 1
    changes = page.get_by_role("region", name="Entries and exits")
    first = changes.locator("tbody tr").first
    assert leaver in first.inner_text() and "left" in first.inner_text()
    check_labels(page)
    fits(page, "segment history")
    shoot(page, "segment-history", width)
    page.get_by_text("Size by day (table)").click()
    assert page.get_by_role("region", name="Size by day").is_visible()
    fits(page, "segment history with its table")

    first.get_by_role("link", name=leaver).click()
    page.wait_for_url(re.compile(r"/ui/members/\d+$"))
    page.get_by_role("heading", name=leaver).wait_for()
    assert "unsubscribed" not in page.locator("#subscription").inner_text()
    history = page.get_by_role("region", name="Membership history")
    assert history.locator("tbody tr").count() == 2  # entered by the build, then left
    check_labels(page)
    fits(page, "member")
    shoot(page, "member", width)

    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url(re.compile(r"/ui/webhooks$"))
    page.get_by_label("URL").fill("http://10.0.0.7/hook")
    page.get_by_role("button", name="Create the webhook").click()
    page.locator("#err-url").filter(has_text="not a public address").wait_for()
    page.get_by_label("URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("Segment").select_option(segment_id)
    page.get_by_label("left").uncheck()
    page.get_by_role("button", name="Create the webhook").click()
    secret = page.get_by_label("Its signing secret, shown this once: copy it now.")
    assert secret.input_value().startswith("whsec_")
    (hook,) = ok(site.api.get("/v1/webhooks"))["result"]
    assert hook["segment_id"] == segment_id and hook["events"] == ["entered"]
    check_labels(page)
    assert page.evaluate(CUT_SELECTS) == []
    fits(page, "webhooks")
    shoot(page, "webhooks", width)
    page.get_by_role("button", name=f"Disable webhook {hook['webhook_id']}").click()
    page.get_by_role("status").filter(has_text="disabled").wait_for()
    page.get_by_role("link", name=f"Delete webhook {hook['webhook_id']}…").click()
    page.get_by_role("button", name="Delete the webhook").click()
    page.get_by_role("status").filter(has_text="deleted").wait_for()
    assert ok(site.api.get("/v1/webhooks"))["result"] == []
    console.check(refused_forms=1)  # the private address


@pytest.mark.parametrize("width", list(WIDTHS))
def test_members_are_searched_edited_and_deleted_by_the_mouse(
    browser: Any, site: Site, width: str
) -> None:
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)
    email = email_of(7)

    page.get_by_role("link", name="Members").click()
    page.wait_for_url(re.compile(r"/ui/members$"))
    page.get_by_label("Email or name contains").fill("member 7")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=member"))
    rows = page.get_by_role("region", name="Members").locator("tbody tr")
    assert rows.count() == 1 and email in rows.first.inner_text()
    check_labels(page)
    fits(page, "members search")
    shoot(page, "members-search", width)

    rows.first.get_by_role("link", name=email).click()
    page.wait_for_url(re.compile(r"/ui/members/\d+$"))
    page.get_by_role("link", name="Edit the member").click()
    page.wait_for_url(re.compile(r"/edit$"))
    age = page.get_by_role("textbox", name=re.compile("^Age"))
    age.fill("old")
    page.get_by_label("Tags (one a line)").fill("VIP\nEdited by hand")
    page.get_by_role("button", name="Save the member").click()
    page.locator(".error", has_text="field Age").wait_for()
    assert age.input_value() == "old"
    check_labels(page)
    fits(page, "member edit")
    shoot(page, "member-edit", width)
    age.fill("70")
    page.get_by_label("Email", exact=True).fill(email_of(8))  # another member's
    page.get_by_role("button", name="Save the member").click()
    page.locator("#err-email", has_text="is the email of member").wait_for()
    email = "moved.seven@example.org"
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Save the member").click()
    page.get_by_role("status").filter(has_text="Member saved.").wait_for()
    assert "Edited by hand" in page.locator("ul.tags").inner_text()
    (stored,) = [
        m for m in ok(site.api.get(MEMBERS, params={"limit": 100}))["result"] if m["email"] == email
    ]
    assert stored["fields"]["Age"] == "70" and "Edited by hand" in stored["tag_names"]

    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("status").filter(has_text="Member unsubscribed.").wait_for()
    assert "unsubscribed" in page.locator("#subscription").inner_text()
    page.get_by_role("button", name="Subscribe again").click()
    page.get_by_role("status").filter(has_text="Member subscribed again.").wait_for()
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("heading", name=f"Delete {email}?").wait_for()
    check_labels(page)
    fits(page, "member delete")
    shoot(page, "member-delete", width)
    page.get_by_role("button", name="Delete the member").click()
    page.get_by_role("status").filter(has_text=f"Member {email} deleted.").wait_for()
    assert email not in [
        m["email"] for m in ok(site.api.get(MEMBERS, params={"limit": 100}))["result"]
    ]
    fits(page, "members after a delete")
    console.check(refused_forms=2)  # the age, the email taken


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_site_is_created_and_its_snippet_copied_by_the_mouse(
    browser: Any, site: Site, width: str
) -> None:
    page = new_page(browser, width)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    console = Console(page)
    sign_in(page, site, width, shots=False)

    page.get_by_role("link", name="Sites").click()
    page.wait_for_url(re.compile(r"/ui/sites$"))
    page.get_by_label("Name").fill("Shop")
    page.get_by_label("Commanders Act site number (optional)").fill("twelve")
    page.get_by_role("button", name="Create the site").click()
    page.locator("#err-site_id").filter(has_text="whole number").wait_for()
    page.get_by_label("Commanders Act site number (optional)").fill("777")
    page.get_by_role("button", name="Create the site").click()
    page.get_by_role("status").filter(has_text="Site Shop created (site=777).").wait_for()
    card = page.locator("#site-777")
    card.get_by_label("Allowed origins (one a line; none: any)").fill("https://shop.example")
    card.get_by_role("button", name="Save the origins").click()
    page.get_by_role("status").filter(has_text="Allowed origins of Shop saved.").wait_for()
    (shop,) = [s for s in ok(site.api.get("/v1/sites"))["result"] if s["site_id"] == 777]
    assert shop["allowed_origins"] == ["https://shop.example"]

    card = page.locator("#site-777")
    card.get_by_role("button", name="Copy the snippet").click()
    card.get_by_role("status").filter(has_text="Copied.").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "segments?site=777&callback=tC_funcEngage" in copied
    card.get_by_role("button", name="Reveal the token").click()
    token = ok(site.api.get("/v1/sites/777/token"))["result"]["token"]
    assert card.locator("input.token").input_value() == token
    check_labels(page)
    assert page.evaluate(CUT_SELECTS) == []
    fits(page, "sites")
    shoot(page, "sites", width)
    console.check(refused_forms=1)  # the number in words


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_catalogue_is_changed_by_the_mouse(browser: Any, site: Site, width: str) -> None:
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)

    page.get_by_role("link", name="Fields").click()
    page.wait_for_url(re.compile(r"/ui/fields$"))
    page.get_by_role("link", name="Edit City").click()
    page.wait_for_url(re.compile(r"/ui/fields/\d+/edit$"))
    page.get_by_label("Options").fill("Paris\nLyon\nNice")
    page.get_by_label("Field name").fill("Town")
    check_labels(page)
    fits(page, "field edit")
    shoot(page, "catalogue-field-edit", width)
    page.get_by_role("button", name="Save the field").click()
    page.get_by_role("status").filter(has_text="Field Town saved.").wait_for()
    page.get_by_role("link", name="Delete Joined").click()
    page.wait_for_url(re.compile(r"/ui/fields/\d+/delete$"))
    fits(page, "field delete")
    shoot(page, "catalogue-field-delete", width)
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("status").filter(has_text="Field Joined deleted.").wait_for()

    page.get_by_role("link", name="Create, rename or delete tags").click()
    page.wait_for_url(re.compile(r"/ui/tags$"))
    page.get_by_label("New name of Newsletter").fill("News")
    page.get_by_label("New name of Newsletter").press("Enter")
    page.get_by_role("status").filter(has_text="Tag News saved.").wait_for()
    page.get_by_label("New tag").fill("Prospects")
    page.get_by_role("button", name="Create the tag").click()
    page.get_by_role("status").filter(has_text="Tag Prospects created.").wait_for()
    page.get_by_label("New name of VIP").fill("News")
    page.get_by_label("New name of VIP").press("Enter")
    page.locator("p.error").filter(has_text="already exists").wait_for()
    check_labels(page)
    fits(page, "tags")
    shoot(page, "catalogue-tags", width)

    page.goto(f"{site.server.url}/ui/campaigns")
    page.get_by_label("Campaign name").fill("Winter")
    page.get_by_role("button", name="Create the campaign").click()
    page.get_by_role("status").filter(has_text="Campaign Winter created.").wait_for()
    check_labels(page)
    assert page.evaluate(CUT_SELECTS) == []
    fits(page, "campaigns")
    shoot(page, "catalogue-campaigns", width)
    page.get_by_role("link", name="Delete Winter").click()
    page.wait_for_url(re.compile(r"/ui/campaigns/\d+/delete$"))
    page.get_by_role("heading", name="Delete the campaign Winter?").wait_for()
    fits(page, "campaign delete")
    shoot(page, "catalogue-campaign-delete", width)
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("status").filter(has_text="Campaign Winter deleted.").wait_for()
    assert page.get_by_role("link", name="Delete Winter").count() == 0
    console.check(refused_forms=1)  # the tag name taken


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_csv_is_imported_by_the_mouse(
    browser: Any, site: Site, width: str, tmp_path: Any
) -> None:
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "Email,Full name,AGE\nnew1@example.com,New One,40\nnew2@example.com,New Two,old\n"
    )

    page.get_by_role("link", name="Imports").click()
    page.wait_for_url(re.compile(r"/ui/imports$"))
    check_labels(page)
    fits(page, "imports")
    shoot(page, "imports-upload", width)
    page.get_by_label("CSV file (UTF-8, its first row a header)").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map the columns").click()
    page.get_by_role("heading", name="2. Map the columns").wait_for()
    assert page.locator("#map-0").input_value() == "email"
    assert page.locator("#map-2").input_value() == "Age"
    page.get_by_label("Full name", exact=True).select_option("name")
    check_labels(page)
    assert page.evaluate(CUT_SELECTS) == []
    fits(page, "import mapping")
    shoot(page, "imports-map", width)
    page.get_by_role("button", name="Start the import").click()
    page.wait_for_url(re.compile(r"/ui/imports/\d+$"))
    page.get_by_role("link", name="Download the rejected rows (CSV)").wait_for(timeout=30_000)
    assert page.locator("#rows-created").inner_text() == "1"
    assert page.locator("#rows-rejected").inner_text() == "1"
    fits(page, "import finished")
    shoot(page, "imports-done", width)
    console.check()
