"""Every refusal reaches its reader in both of kefu's languages.

The rule, checked over the source rather than by examples: each construction of a CaseError
(or of any class derived from it) gives its Chinese text next to the English, `zh=` with a
literal that holds Chinese. A new `raise InvalidInput("...")` without it fails here, naming the
file and line. mypy finds a missing `zh=` too (it is a required keyword); this also finds an
empty or English-only one, and a bare `raise NotFound`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cases.domain.enums import Language
from cases.domain.errors import CaseError, Conflict, InvalidInput, NotFound

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cases", "kefu", "bots", "intake", "notifications")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _modules() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _error_classes(modules: list[tuple[Path, ast.Module]]) -> tuple[set[str], set[str]]:
    """The names of CaseError and every class derived from it in the source, and those of them
    whose own __init__ takes no `zh` (they give the Chinese themselves, e.g. LinkRefused)."""
    classes = {node.name: node for _, tree in modules for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    errors = {"CaseError"}
    grown = True
    while grown:
        found = {name for name, c in classes.items() if any(_name(b) in errors for b in c.bases)}
        grown = not found <= errors
        errors |= found
    self_translated = set()
    for name in errors - {"CaseError"}:
        for item in classes[name].body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                params = {a.arg for a in [*item.args.args, *item.args.kwonlyargs]}
                if "zh" not in params:
                    self_translated.add(name)
    return errors, self_translated


def _literal_text(node: ast.expr) -> str:
    """The literal parts of a text expression: a string, an f-string, or a sum of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal_text(node.left) + _literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) + _literal_text(node.orelse)
    return ""


def _check(modules: list[tuple[Path, ast.Module]]) -> tuple[list[str], list[str]]:
    """(every construction of a CaseError as "path:line", those breaking the rule with why)."""
    errors, self_translated = _error_classes(modules)
    sites, broken = [], []
    for path, tree in modules:
        where = path.relative_to(ROOT) if path.is_absolute() else path
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None and _name(node.exc) in errors:
                broken.append(f"{where}:{node.lineno}: raise {_name(node.exc)} without a message")
            if not (isinstance(node, ast.Call) and _name(node.func) in errors):
                continue
            sites.append(f"{where}:{node.lineno}")
            if _name(node.func) in self_translated:
                continue
            zh = next((kw.value for kw in node.keywords if kw.arg == "zh"), None)
            if zh is None:
                broken.append(f"{where}:{node.lineno}: {_name(node.func)}(...) has no zh= text")
            elif not CHINESE.search(_literal_text(zh)):
                broken.append(f"{where}:{node.lineno}: {_name(node.func)}(...) zh= is not a Chinese text")

    def by_place(text: str) -> tuple[str, int]:
        path, line, *_ = text.split(":")
        return path, int(line)

    return sorted(sites, key=by_place), sorted(broken, key=by_place)


def test_every_refusal_in_the_source_gives_its_chinese_text() -> None:
    sites, broken = _check(_modules())
    assert len(sites) > 250, "the walk found too few raise sites; has the source moved?"
    assert broken == [], "refusals without their Chinese text:\n" + "\n".join(broken)


def test_the_rule_names_each_refusal_that_lacks_its_chinese_text() -> None:
    source = """
class CaseError(Exception): ...
class NotFound(CaseError): ...
class Gone(NotFound): ...
raise NotFound("no case FB-1", zh="没有案件 FB-1")
raise Gone(f"no case {ref}")
raise NotFound("no case", zh="no case")
raise Gone
"""
    sites, broken = _check([(Path("x.py"), ast.parse(source))])
    assert sites == ["x.py:5", "x.py:6", "x.py:7"]
    assert broken == [
        "x.py:6: Gone(...) has no zh= text",
        "x.py:7: NotFound(...) zh= is not a Chinese text",
        "x.py:8: raise Gone without a message",
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [(Language.ZH, "批次号为 1 至 80 个字符"), ("zh", "批次号为 1 至 80 个字符"), (Language.EN, "a batch is 1 to 80")],
)
def test_text_is_the_message_in_the_readers_language(language: str, expected: str) -> None:
    exc = InvalidInput("a batch is 1 to 80 characters", zh="批次号为 1 至 80 个字符")
    assert exc.text(language).startswith(expected)


def test_str_stays_the_english_message_for_logs_and_the_api() -> None:
    exc = NotFound("there is no case FB-2026-000001", zh="没有案件 FB-2026-000001")
    assert str(exc) == "there is no case FB-2026-000001"
    assert exc.args == ("there is no case FB-2026-000001",)
    assert isinstance(exc, CaseError) and exc.code == "not_found"


def test_a_blank_chinese_text_falls_back_to_the_english() -> None:
    assert Conflict("taken", zh=" ").text(Language.ZH) == "taken"
