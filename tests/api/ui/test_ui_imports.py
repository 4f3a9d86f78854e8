"""Member imports in the browser over HTTP, on SQLite and PostgreSQL: a CSV uploaded, its
columns suggested by name and mapped, the API's durable job started and followed to its end
(the server's import worker runs it), the rejected rows shown with the rejects file; refusals
in the import API's words; another tenant's job and upload answer 404."""

from __future__ import annotations

import html
import re

from tests.api.ui.conftest import Shared
from tests.conftest import make_tenant, wait_until
from tests.support.ui_support import MEMBERS, Ui, api_message, ok, slot_text

IMPORTS = "/v1/marketing/lists/members/imports"
TOKEN = re.compile(r'name="upload" value="([0-9a-f]{16})"')
GOOD = (
    "Email,Full name,AGE,city,Notes\n"
    "imp1@example.com,Imp One,31,Paris,hello\n"
    "imp2@example.com,Imp Two,not a number,Lyon,\n"
    "imp3@example.com,Imp Three,45,Lyon,x\n"
)


def _csv(text: str | bytes, name: str = "people.csv") -> dict[str, tuple[str, bytes, str]]:
    body = text.encode() if isinstance(text, str) else text
    return {"file": (name, body, "text/csv")}


def _selected(page: str, index: int) -> str:
    select = re.search(rf'<select id="map-{index}".*?</select>', page, re.S)
    assert select, page
    chosen = re.search(r'<option value="([^"]*)" selected>', select[0])
    assert chosen, select[0]
    return html.unescape(chosen[1])


def _finished(ui: Ui, job_id: str) -> str:
    def done() -> str | None:
        part = ui.get(f"/ui/imports/{job_id}/progress").text
        return None if "hx-trigger" in part else part

    return str(wait_until(done, timeout=60))


def test_a_csv_is_uploaded_mapped_and_imported_with_its_rejects(shared: Shared) -> None:
    page = shared.ui.get("/ui/imports")
    assert page.status_code == 200 and "style=" not in page.text
    assert "at most 1000 columns" in page.text and 'enctype="multipart/form-data"' in page.text
    mapping = shared.ui.post("/ui/imports", files=_csv(GOOD))
    assert mapping.status_code == 200, mapping.text
    suggested = [_selected(mapping.text, i) for i in range(5)]
    assert suggested == ["email", "(skipped)", "Age", "City", "(skipped)"]
    token = TOKEN.search(mapping.text)[1]  # type: ignore[index]
    started = shared.ui.post(
        "/ui/imports/start",
        {
            "upload": token,
            "map_0": "email",
            "map_1": "name",
            "map_2": "Age",
            "map_3": "City",
            "map_4": "(skipped)",
            "tag_flag": "1",
            "update_existing": "on",
        },
    )
    assert started.status_code == 303, started.text
    job_id = started.headers["location"].rsplit("/", 1)[1]
    first = shared.ui.get(f"/ui/imports/{job_id}")
    assert first.status_code == 200 and 'id="import-progress"' in first.text
    finished = _finished(shared.ui, job_id)
    assert 'id="rows-created">2<' in finished and 'id="rows-rejected">1<' in finished
    assert "imp2@example.com" in finished and "Finished" in finished
    api_job = ok(shared.api.get(f"{IMPORTS}/{job_id}"))["result"]
    assert (api_job["state"], api_job["created"], api_job["rejected"]) == ("done", 2, 1)
    assert api_job["errors"][0]["reason"] in html.unescape(finished)
    rejects = shared.ui.get(f"/ui/imports/{job_id}/rejects.csv")
    assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
    lines = rejects.text.splitlines()
    assert lines[0].startswith("row,reason,Email,Full name") and "imp2@example.com" in lines[1]
    members = ok(shared.api.get(MEMBERS, params={"limit": 100}))["result"]
    imported = {m["email"]: m for m in members if m["email"].startswith("imp")}
    assert sorted(imported) == ["imp1@example.com", "imp3@example.com"]
    assert imported["imp1@example.com"]["name"] == "Imp One"


def test_import_refusals_are_the_import_apis_words(shared: Shared) -> None:
    empty = shared.ui.post("/ui/imports", files=_csv(""))
    api_empty = shared.api.post(IMPORTS, files=_csv(""))
    assert empty.status_code == 400
    assert slot_text(empty.text, "err-file") in api_message(api_empty)
    latin = shared.ui.post(
        "/ui/imports", files=_csv("email,name\nx@example.com,Caf\xe9\n".encode("latin-1"))
    )
    assert latin.status_code == 400 and "UTF-8" in slot_text(latin.text, "err-file")
    none = shared.ui.post("/ui/imports", {})
    assert none.status_code == 400 and slot_text(none.text, "err-file") == "Choose a CSV file."

    mapping = shared.ui.post("/ui/imports", files=_csv("Mail,Name\na@example.com,A\n"))
    assert _selected(mapping.text, 0) == "(skipped)"
    token = TOKEN.search(mapping.text)[1]  # type: ignore[index]
    no_email = shared.ui.post("/ui/imports/start", {"upload": token, "map_0": "(skipped)"})
    assert no_email.status_code == 400
    assert "the header must have an email column" in slot_text(no_email.text, "err-map")
    twice = shared.ui.post(
        "/ui/imports/start", {"upload": token, "map_0": "email", "map_1": "email"}
    )
    assert twice.status_code == 400 and "like an earlier one" in slot_text(twice.text, "err-map")
    nonsense = shared.ui.post(
        "/ui/imports/start", {"upload": token, "map_0": "nothing", "tag_flag": "77"}
    )
    assert nonsense.status_code == 400 and slot_text(nonsense.text, "err-map")
    for raw in ("", "zz", "0" * 16, "../../etc/passwd"):
        answer = shared.ui.post("/ui/imports/start", {"upload": raw, "map_0": "email"})
        assert answer.status_code == 404, raw
    for raw in ("0", "abc", "9" * 30):
        for path in (
            f"/ui/imports/{raw}",
            f"/ui/imports/{raw}/progress",
            f"/ui/imports/{raw}/rejects.csv",
        ):
            assert shared.ui.get(path).status_code == 404, path


def test_another_tenants_import_and_upload_answer_404(shared: Shared) -> None:
    other = make_tenant(shared.db, "imports-other")
    theirs = Ui(shared.server, other.api_user, other.api_key)
    try:
        mapping = theirs.post("/ui/imports", files=_csv("email\nbad\n"))
        token = TOKEN.search(mapping.text)[1]  # type: ignore[index]
        taken = shared.ui.post("/ui/imports/start", {"upload": token, "map_0": "email"})
        assert taken.status_code == 404
        started = theirs.post("/ui/imports/start", {"upload": token, "map_0": "email"})
        job_id = started.headers["location"].rsplit("/", 1)[1]
        assert 'id="rows-rejected">1<' in _finished(theirs, job_id)
        assert theirs.get(f"/ui/imports/{job_id}/rejects.csv").status_code == 200
        for path in (
            f"/ui/imports/{job_id}",
            f"/ui/imports/{job_id}/progress",
            f"/ui/imports/{job_id}/rejects.csv",
        ):
            assert shared.ui.get(path).status_code == 404, path
    finally:
        theirs.close()


def test_the_import_pages_are_all_in_french() -> None:
    from pathlib import Path

    from segmentd.api.ui import routes_imports
    from segmentd.api.ui.i18n import FRENCH

    folder = Path(routes_imports.__file__).parent / "templates"
    phrases = {*routes_imports.TAG_FLAGS.values(), *routes_imports.STATE_WORDS.values()}
    for name in (
        "imports.html",
        "import_map.html",
        "import_job.html",
        "partials/import_progress.html",
    ):
        text = (folder / name).read_text()
        phrases |= set(re.findall(r'_\(\s*"([^"]+)"', text))
        phrases |= set(re.findall(r"_\(\s*'([^']+)'", text))
    assert len(phrases) > 30
    assert sorted(p for p in phrases if p not in FRENCH) == []


def test_an_import_goes_to_the_chosen_list_of_the_tenant(shared: Shared) -> None:
    from tests.support.factories import add_list

    second = add_list(shared.db, shared.tenant.id, "Fair visitors")
    other = make_tenant(shared.db, "imports-lists")
    foreign = add_list(shared.db, other.id, "Not yours")
    mapping = shared.ui.post("/ui/imports", files=_csv("email\nfair@example.com\n"))
    assert f'<option value="{second}">Fair visitors (#{second})</option>' in mapping.text
    token = TOKEN.search(mapping.text)[1]  # type: ignore[index]
    for raw in (str(foreign), "abc", "0"):
        taken = shared.ui.post(
            "/ui/imports/start", {"upload": token, "map_0": "email", "list_id": raw}
        )
        assert taken.status_code == 404, raw
    started = shared.ui.post(
        "/ui/imports/start", {"upload": token, "map_0": "email", "list_id": str(second)}
    )
    job_id = started.headers["location"].rsplit("/", 1)[1]
    assert 'id="rows-created">1<' in _finished(shared.ui, job_id)
    on_second = ok(shared.api.get(MEMBERS, params={"list_id": second, "limit": 10}))["result"]
    assert [m["email"] for m in on_second] == ["fair@example.com"]


def test_an_import_page_words_the_files_problems_in_french(shared: Shared) -> None:
    french = Ui(shared.server, shared.tenant.api_user, shared.tenant.api_key)
    try:
        french.post("/ui/language", [("lang", "fr"), ("back", "/ui/imports")])
        empty = french.post("/ui/imports", files=_csv(""))
        assert empty.status_code == 400
        assert slot_text(empty.text, "err-file") == (
            "le fichier est vide : la première ligne doit être un en-tête"
        )
        rows = "email,AGE\nfr1@example.com,31\nfr2@example.com,old\n"
        mapping = french.post("/ui/imports", files=_csv(rows))
        token = TOKEN.search(mapping.text)[1]  # type: ignore[index]
        started = french.post(
            "/ui/imports/start",
            {"upload": token, "map_0": "email", "map_1": "Age", "tag_flag": "1"},
        )
        assert started.status_code == 303, started.text
        finished = html.unescape(_finished(french, started.headers["location"].rsplit("/", 1)[1]))
        assert "champ Age : 'old' n'est pas un nombre" in finished, finished
    finally:
        french.close()
