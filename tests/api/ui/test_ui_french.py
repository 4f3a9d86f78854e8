"""French is complete: every phrase the UI can show (the templates' ``_("...")``, the flash
messages, the words of its vocabularies) is a key of i18n's French or plural table. The
browser test (``test_ui_browser_a11y``) checks the rendered pages in French too."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from segmentd.api.ui import i18n, views, vocab
from segmentd.api.ui.vocab import Kind

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
