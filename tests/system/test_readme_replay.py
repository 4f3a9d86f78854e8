"""The README's requests, replayed in order with real curl against the demo: every output the
README shows is what the demo answers.

A newcomer follows "## Requests" top to bottom against a fresh ``make run``. So does this test:
each ``curl`` runs through bash as written (variables exported by earlier steps, the port
changed), and its answer must match the ``# ...`` lines below it. In those lines ``...``
stands for any text, and ids, tokens and times stand for any value of their shape; an id that
appears twice must be the same id both times (a look-up must name the segment created above).
``export X=...`` lines take X from the previous answer, the way the README tells the reader to.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from segmentd.demo import load_demo
from segmentd.storage.db import Database
from tests.conftest import LiveServer, test_settings, wait_until

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_URL = "http://127.0.0.1:8000"

# What a value of each shape looks like in an answer; the README shows one example of each.
SHAPES = {
    "id": r"\b[0-9a-f]{24}\b",
    "commandersact_id": r"(?<=\")[0-9A-F]{8}(?=\")",
    "time": r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d[+-]\d{4}",
    "token": r'(?<="token":")[A-Za-z0-9_-]{16,}(?=")',
}
# What an answer may hold in place of each (look-behinds only find them in the README).
ANY_OF = {
    "id": "[0-9a-f]{24}",
    "commandersact_id": "[0-9A-F]{8}",
    "time": SHAPES["time"],
    "token": "[A-Za-z0-9_-]{16,}",
}
# Where each exported variable comes from in the answer before it.
EXPORTS = {
    "CAMPAIGN": ("result", "campaign_id"),
    "SEGMENT": ("result", "segment_id"),
    "TOKEN": ("result", "token"),
}


@dataclass
class Step:
    command: str
    expected: str = ""


@dataclass
class Replay:
    env: dict[str, str]
    bound: dict[str, str] = field(default_factory=dict)  # README value -> real value
    last_answer: str = ""


def _request_blocks(text: str) -> Iterator[str]:
    section = text.split("## Requests", 1)[1].split("## Running it for real", 1)[0]
    yield from re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def _is_complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    heredoc = re.search(r"<<-?'?(\w+)'?", command)
    if heredoc and not re.search(rf"^{heredoc[1]}$", command, flags=re.M):
        return False
    try:
        shlex.split(command.split("<<", 1)[0], comments=False)
    except ValueError:  # an open quote: the command goes on
        return False
    return True


def _steps(block: str) -> Iterator[Step]:
    step: Step | None = None
    pending = ""
    for line in block.splitlines():
        if pending:
            pending += "\n" + line
        elif line.startswith(("curl ", "export ")):
            if step is not None:
                yield step
            step, pending = None, line
        elif line.startswith("#") and step is not None:
            step.expected += line.lstrip("#").strip()
            continue
        else:
            continue
        if _is_complete(pending):
            step, pending = Step(pending), ""
    if step is not None:
        yield step


def readme_steps() -> list[Step]:
    return [step for block in _request_blocks(README.read_text()) for step in _steps(block)]


def _pattern(expected: str, replay: Replay) -> tuple[re.Pattern[str], dict[str, str]]:
    """``expected`` as a regex (``...`` any text, each README id bound to one real id), and
    the group naming each README value seen for the first time."""
    groups: dict[str, str] = {}
    found = re.finditer("|".join(f"(?P<{k}>{v})" for k, v in SHAPES.items()), expected)
    parts, position = [], 0
    for match in found:
        parts.append(_literal(expected[position : match.start()]))
        value = match.group()
        if value in replay.bound:
            parts.append(re.escape(replay.bound[value]))
        elif value in groups:
            parts.append(f"(?P={groups[value]})")
        else:
            groups[value] = name = f"v{len(groups)}"
            kind = match.lastgroup
            assert kind is not None
            parts.append(f"(?P<{name}>{ANY_OF[kind]})")
        position = match.end()
    parts.append(_literal(expected[position:]))
    return re.compile("".join(parts), flags=re.S), groups


def _literal(text: str) -> str:
    return ".*?".join(re.escape(part) for part in text.split("..."))


def _check(step: Step, answer: str, replay: Replay) -> None:
    pattern, groups = _pattern(step.expected, replay)
    match = pattern.fullmatch(answer)
    assert match, (
        f"README says\n  {step.expected}\nthe demo answered\n  {answer}\nto\n  {step.command}"
    )
    for readme_value, name in groups.items():
        replay.bound[readme_value] = match[name]


def _export(step: Step, replay: Replay) -> None:
    found = re.match(r"export (\w+)=(\S+)", step.command)
    assert found, step.command
    name, readme_value = found.groups()
    if name not in EXPORTS:  # API_USER, API_KEY: set by the test
        return
    answer = json.loads(replay.last_answer)
    for key in EXPORTS[name]:
        answer = answer[key]
    replay.env[name] = str(answer)
    replay.bound[readme_value] = str(answer)


def _curl(step: Step, replay: Replay, base_url: str, cwd: Path) -> tuple[str, int]:
    # -w appends the status on a line of its own; the README's outputs are the bodies.
    script = "curl() { command curl -sS -w '\\n%{http_code}' \"$@\"; }\n" + step.command
    script = script.replace(README_URL, base_url)
    done = subprocess.run(
        ["bash", "-c", script], env=replay.env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return body, int(status)


def _wait_for_builds(base_url: str, auth: tuple[str, str]) -> None:
    """A reader of the README waits for a build before reading its members; so does this."""
    with httpx.Client(base_url=base_url, auth=auth, timeout=30) as http:

        def all_built() -> bool:
            answer = http.get("/v1/marketing/lists/segments", params={"limit": 100}).json()
            return all(s["process"]["complete"] for s in answer["result"])

        wait_until(all_built, timeout=60)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, str]]:
    if shutil.which("curl") is None:
        pytest.fail("the README replay needs curl (apt-get install curl)")
    url = f"sqlite:///{tmp_path_factory.mktemp('readme') / 'segmentd.db'}"
    settings = test_settings(url)
    db = Database(url)
    db.migrate()
    user, key = load_demo(db, settings)
    db.dispose()
    with LiveServer(settings) as live:
        yield live, user, key


def test_the_readme_shows_enough_requests_to_replay() -> None:
    steps = readme_steps()
    assert sum(step.command.startswith("curl") for step in steps) >= 20
    assert sum(bool(step.expected) for step in steps) >= 15


def test_every_readme_output_is_what_the_demo_answers(
    demo_server: tuple[LiveServer, str, str], tmp_path: Path
) -> None:
    live, user, key = demo_server
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "API_USER": user, "API_KEY": key}
    replay = Replay(env)
    for step in readme_steps():
        if step.command.startswith("export "):
            _export(step, replay)
            continue
        _wait_for_builds(live.url, (user, key))
        body, status = _curl(step, replay, live.url, tmp_path)
        if step.expected:
            _check(step, body, replay)
        else:
            assert status < 400, f"{step.command}\nanswered {status}: {body}"
        replay.last_answer = body
