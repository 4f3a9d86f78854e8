"""Every page of the UI a signed-in user can reach, for the checks that run on all of them
(axe-core, the phone width, the French translation)."""

from __future__ import annotations

import re
from typing import Any

from tests.support.ui_browser import Site
from tests.support.ui_support import CAMPAIGNS, email_of, make_segment, ok

# Serious and critical: what blocks or badly hinders a screen-reader or keyboard user.
BLOCKING = {"serious", "critical"}


def every_page(page: Any, site: Site) -> list[tuple[str, str]]:
    """(name, path) of every page, after making a dynamic segment, a static one and picking a
    member; ``page`` must be signed in."""
    url = site.server.url
    segment_id = make_segment(site.api, segment_name="Everyone over 30")
    page.goto(url + "/ui/segments/new-static")
    page.get_by_label("Segment name").fill("Picked by hand")
    page.get_by_label("First members (optional)").fill(email_of(1))
    page.get_by_role("button", name="Create the segment").click()
    page.wait_for_url(re.compile(r"/ui/segments/[0-9a-f]{24}$"))
    static_id = page.url.rsplit("/", 1)[1]
    page.goto(url + "/ui/members?q=" + email_of(1))
    page.get_by_role("link", name=email_of(1)).click()
    page.wait_for_url(re.compile(r"/ui/members/\d+$"))
    member_id = page.url.rsplit("/", 1)[1]
    page.goto(url + "/ui/sites")
    rotate = str(page.locator("a[href$='/rotate']").first.get_attribute("href"))
    campaigns = ok(site.api.get(CAMPAIGNS, params={"limit": 1}))["result"]
    return [
        ("segments", "/ui/segments"),
        ("segment", f"/ui/segments/{segment_id}"),
        ("segment-changes", f"/ui/segments/{segment_id}/changes"),
        ("segment-edit", f"/ui/segments/{segment_id}/edit"),
        ("segment-delete", f"/ui/segments/{segment_id}/delete"),
        ("builder", "/ui/segments/new"),
        ("static-new", "/ui/segments/new-static"),
        ("static", f"/ui/segments/{static_id}"),
        ("members", "/ui/members"),
        ("member", f"/ui/members/{member_id}"),
        ("member-edit", f"/ui/members/{member_id}/edit"),
        ("member-delete", f"/ui/members/{member_id}/delete"),
        ("sites", "/ui/sites"),
        ("site-rotate", rotate),
        ("fields", "/ui/fields"),
        ("campaigns", "/ui/campaigns"),
        ("campaign-delete", f"/ui/campaigns/{campaigns[0]['campaign_id']}/delete"),
        ("webhooks", "/ui/webhooks"),
    ]


def blocking_violations(page: Any) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in found
        if v["impact"] in BLOCKING
    ]
