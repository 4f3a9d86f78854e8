"""Every refusal message the UI can show, as templates read from the source: the messages of
the domain errors raised in the layers under the UI (``DomainValidationError``, ``InUse``,
``Taken``, ``UnknownList``), an f-string's values as ``{}``.

A message the code builds before raising (``message = f"..."; raise ...(path, message)``) is
followed to its assignments in the same function or module; what cannot be followed (another
error's message passed on) is reported, so that a test can list such sites by name.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import segmentd

ROOT = Path(segmentd.__file__).parent
ERRORS = frozenset({"DomainValidationError", "InUse", "Taken"})
# Problems that become a refusal's message, or part of one, on their way up: a member row's
# (``field {name}: {value problem}``), a webhook address's, a field value's, a CSV file's.
PROBLEMS = {
    "RowProblem": "",
    "TargetRefused": "",
    "ValueError": "domain/values.py",
    "SourceError": "",
    "MappingError": "",
    "ImportRefused": "",
}
# A CSV header's problems are gathered in a list, then raised together (joined by "; ").
GATHERED = "problems"
# The API families other than the UI answer in their own words; the UI never shows them.
SKIPPED = ("api/engagelab", "api/native", "api/commandersact")


@dataclass
class Found:
    templates: set[str] = field(default_factory=set)
    unresolved: set[str] = field(default_factory=set)  # "module.py:line" of messages passed on


def refusal_templates() -> Found:
    found = Found()
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SKIPPED):
            continue
        _Visitor(relative, ast.parse(path.read_text()), found).run()
    return found


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


class _Visitor:
    def __init__(self, relative: str, tree: ast.Module, found: Found) -> None:
        self.relative, self.tree, self.found = relative, tree, found

    def run(self) -> None:
        self._scope(self.tree, [self.tree])

    def _scope(self, node: ast.AST, scopes: list[ast.AST]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                [*scopes, child]
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                else scopes
            )
            if isinstance(child, ast.Call):
                self._call(child, scopes)
            self._scope(child, inner)

    def _call(self, call: ast.Call, scopes: list[ast.AST]) -> None:
        name = _name(call.func)
        is_super = (
            self.relative == "domain/errors.py"
            and name == "__init__"
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Call)
            and len(call.args) == 2
        )
        if name in PROBLEMS and self.relative.startswith(PROBLEMS[name]) and call.args:
            self._message(call.args[0], scopes, call.lineno)
        elif _gathers(call) and call.args:
            argument = call.args[0]
            if isinstance(argument, ast.GeneratorExp):
                argument = argument.elt
            self._message(argument, scopes, call.lineno)
        elif name == "RowError" and len(call.args) >= 3:
            self._message(call.args[2], scopes, call.lineno)
        elif (name in ERRORS or is_super) and len(call.args) >= 2:
            self._message(call.args[1], scopes, call.lineno)
        elif name in ERRORS:
            message = next((k.value for k in call.keywords if k.arg == "message"), None)
            if message is not None:
                self._message(message, scopes, call.lineno)

    def _message(self, node: ast.expr, scopes: list[ast.AST], line: int) -> None:
        templates = self._templates(node, scopes, 0)
        if templates:
            self.found.templates |= templates
        else:
            self.found.unresolved.add(f"{self.relative}:{line}")

    def _templates(self, node: ast.expr, scopes: list[ast.AST], depth: int) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.JoinedStr):
            return {_joined(node)}
        if isinstance(node, ast.IfExp):
            return self._templates(node.body, scopes, depth) | self._templates(
                node.orelse, scopes, depth
            )
        if isinstance(node, ast.Call) and _name(node.func).endswith("_problem"):
            return self._returned(_name(node.func), depth)
        if isinstance(node, ast.Name) and depth < 3:
            found: set[str] = set()
            for scope in reversed(scopes):
                for value in _assigned(scope, node.id):
                    found |= self._templates(value, scopes, depth + 1)
                if found:
                    return found
            return _constant(node.id)
        return set()

    def _returned(self, function: str, depth: int) -> set[str]:
        """The messages a ``*_problem`` function returns, wherever it is defined."""
        found: set[str] = set()
        for path in sorted(ROOT.rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name == function:
                    for inner in ast.walk(node):
                        if isinstance(inner, ast.Return) and inner.value is not None:
                            found |= self._templates(inner.value, [tree, node], depth + 1)
        return found


def _gathers(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ("append", "extend")
        and isinstance(func.value, ast.Name)
        and func.value.id == GATHERED
    )


def _constant(name: str) -> set[str]:
    """A module constant's message, imported from wherever it is defined (``TOO_MANY_TAGS``)."""
    found: set[str] = set()
    for path in sorted(ROOT.rglob("*.py")):
        for value in _assigned(ast.parse(path.read_text()), name):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(value.value)
            elif isinstance(value, ast.JoinedStr):
                found.add(_joined(value))
    return found


def _joined(node: ast.JoinedStr) -> str:
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
        else:
            parts.append("{}")
    return "".join(parts)


def _assigned(scope: ast.AST, name: str) -> list[ast.expr]:
    """The values assigned to ``name`` directly in ``scope`` (not in nested functions)."""
    values: list[ast.expr] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ) or (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            values.append(node.value)
        todo.extend(ast.iter_child_nodes(node))
    return values
