"""What a browser would submit of an HTML fragment's controls, and which controls it labels.

A small reader over ``html.parser`` for rendered templates: inputs (checkboxes and radios
only when checked), selects (their selected options, or the first enabled one of a single
select), text areas. Controls hidden by a style still submit, as in a browser.
"""

from __future__ import annotations

from html.parser import HTMLParser

from starlette.datastructures import ImmutableMultiDict


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.labelled: set[str] = set()
        self._select: dict[str, object] | None = None
        self._option: dict[str, str | None] | None = None
        self._textarea: list[str] | None = None
        self._textarea_name = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.ids.append(str(found.get("id")))
        if tag == "input":
            self._input(found)
        elif tag == "select":
            self._select = {
                "name": found.get("name"),
                "multiple": "multiple" in found,
                "options": [],
            }
        elif tag == "option" and self._select is not None:
            self._option = found
            self._option_text: list[str] = []
        elif tag == "textarea":
            self._textarea, self._textarea_name = [], str(found.get("name"))

    def _input(self, found: dict[str, str | None]) -> None:
        kind = found.get("type") or "text"
        if kind in ("checkbox", "radio") and "checked" not in found:
            return
        if found.get("name"):
            self.pairs.append((str(found["name"]), found.get("value") or ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.append(data)
        elif self._option is not None:
            self._option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None and self._select is not None:
            option = self._option
            value = option["value"] if "value" in option else "".join(self._option_text)
            self._select["options"].append(
                (value or "", "selected" in option, "disabled" in option)
            )  # type: ignore[attr-defined]
            self._option = None
        elif tag == "select" and self._select is not None:
            self._close_select()
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea_name, "".join(self._textarea).removeprefix("\n")))
            self._textarea = None

    def _close_select(self) -> None:
        assert self._select is not None
        options: list[tuple[str, bool, bool]] = self._select["options"]  # type: ignore[assignment]
        name = str(self._select["name"])
        chosen = [value for value, selected, _ in options if selected]
        if not chosen and not self._select["multiple"]:
            chosen = [value for value, _, disabled in options if not disabled][:1]
        self.pairs += [(name, value) for value in chosen]
        self._select = None


def submitted(fragment: str) -> ImmutableMultiDict[str, str]:
    """The name and value pairs a browser would post for the fragment's controls."""
    reader = _Controls()
    reader.feed(fragment)
    return ImmutableMultiDict(reader.pairs)


def unlabelled(fragment: str) -> list[str]:
    """Ids of visible-type controls that no <label for> names."""
    reader = _Controls()
    reader.feed(fragment)
    return [control for control in reader.ids if control not in reader.labelled]
