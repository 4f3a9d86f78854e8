"""French is complete: every phrase the UI can show (the templates' ``_("...")``, the flash
messages, the words of its vocabularies) is a key of i18n's French or plural table, and every
refusal the services can raise has a French template (``i18n_refusals``). The browser test
(``test_ui_browser_a11y``) checks the rendered pages in French too."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segmentd.api.ui import i18n, views, vocab
from segmentd.api.ui.i18n_refusals import REFUSALS_FRENCH, french_refusal
from segmentd.api.ui.vocab import Kind
from tests.support.refusal_templates import refusal_templates

UI = Path(i18n.__file__).parent
LITERAL = r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
TRANSLATED = re.compile(r"\b_\(\s*" + LITERAL)
FLASHED = re.compile(r"""\["flash"\] = \[\s*""" + LITERAL)
KEYS = set(i18n.FRENCH) | set(i18n.PLURALS["fr"])


def _phrases(text: str, pattern: re.Pattern[str]) -> Iterator[str]:
    for match in pattern.finditer(text):
        yield ast.literal_eval(match.group(1))


def _words(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _words(item)


def test_every_template_phrase_has_its_french() -> None:
    templates = sorted((UI / "templates").rglob("*.html"))
    assert len(templates) > 20
    missing = {
        (path.name, phrase)
        for path in templates
        for phrase in _phrases(path.read_text(), TRANSLATED)
        if phrase not in KEYS
    }
    assert missing == set()


def test_every_flash_and_translated_code_phrase_has_its_french() -> None:
    sources = [p for p in sorted(UI.glob("*.py")) if p.name != "i18n.py"]
    found = [
        (path.name, phrase)
        for path in sources
        for pattern in (TRANSLATED, FLASHED)
        for phrase in _phrases(path.read_text(), pattern)
    ]
    assert len(found) > 10
    assert {(name, phrase) for name, phrase in found if phrase not in KEYS} == set()


def test_every_vocabulary_word_has_its_french() -> None:
    op_words = {kind: words for kind, words in vocab.OP_WORDS.items() if kind is not Kind.UNKNOWN}
    tables = [
        op_words,
        vocab.NATIVE_OP_WORDS,
        vocab.ACTIVITY_WORDS,
        vocab.TYPE_NAMES,
        views.STATUS_WORDS,
        views.TYPE_WORDS,
    ]
    words = {word for table in tables for word in _words(table)}
    assert len(words) > 20
    assert words - KEYS == set()


def test_french_keeps_every_placeholder() -> None:
    """A French phrase fills the same ``{names}`` as its English key."""
    names = re.compile(r"\{(\w+)\}")
    wrong = [k for k, v in i18n.FRENCH.items() if set(names.findall(k)) != set(names.findall(v))]
    assert wrong == []


# Where a refusal's message is passed on from another error, made from the templates read
# elsewhere (a member row's problem, a webhook address's), or never shown by the UI.
PASSED_ON = {
    "imports/event_rows.py",  # a header's problems joined (matched one by one); an event's
    "imports/mapping.py",  # a header's problems joined, each matched on its own
    "imports/service.py",  # a mapping or file problem passed on (imports/mapping.py, source.py)
    "services/member_edits.py",  # a member row's problem (storage/member_input.py, members.py)
    "services/webhook_service.py",  # TargetRefused's words (jobs/webhook_targets.py)
    "storage/members.py",  # RowProblem's words (storage/member_input.py)
}


def test_every_refusal_a_service_raises_has_its_french() -> None:
    """Every message a domain error (or the problem it carries) is made from, read from the
    source, has a French template filling the same values; none is left over."""
    found = refusal_templates()
    assert len(found.templates) > 180
    assert {site.split(":")[0] for site in found.unresolved} <= PASSED_ON
    assert sorted(found.templates - set(REFUSALS_FRENCH)) == []
    assert sorted(set(REFUSALS_FRENCH) - found.templates) == []  # no template of the past


def test_each_french_refusal_fills_every_value_once() -> None:
    for english, french in REFUSALS_FRENCH.items():
        holes = english.count("{}")
        filled = sorted(int(n) for n in re.findall(r"\{([0-9]+)(?::t)?\}", french))
        assert filled == list(range(holes)), (english, french)


@pytest.mark.parametrize(
    ("english", "french"),
    [
        (
            "campaign Spring is used by segments: Openers, VIP",
            "la campagne Spring est utilisée par les segments : Openers, VIP",
        ),
        (
            "a completed campaign cannot become draft",
            "une campagne terminée ne peut pas devenir brouillon",
        ),
        ("field Age: abc is not a number", "champ Age : abc n'est pas un nombre"),
        (
            "segment_name must be at most 48 characters",
            "le nom du segment compte au plus 48 caractères",
        ),
        ("something no template made", "something no template made"),
    ],
)
def test_a_refusal_is_matched_to_its_template_and_filled(english: str, french: str) -> None:
    assert french_refusal(english, i18n.FRENCH) == french
