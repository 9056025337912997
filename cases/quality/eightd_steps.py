"""The 8D's steps as one table: what each holds, who signs it, what its signature does to the
case (procedure 6.3.3-6.3.5; the 8D maps onto the states of cases/domain/states.py).

| step | holds                                                     | signs                | signing takes     |
|------|-----------------------------------------------------------|----------------------|-------------------|
| D0   | emergency response                                        | department, quality  |                   |
| D1   | the team (the case's review team, frozen at signing)      | department, quality  |                   |
| D2   | problem: is / is not for what, where, when, how many      | department, quality  |                   |
| D3   | containment: action, where, sorted, found bad, result, date| department, quality | containment done  |
| D4   | root cause: occurrence and escape, 5-why, cause category  | department, quality  | `record_analysis` |
| D5   | chosen permanent actions                                  | department, quality  |                   |
| D6   | implementation and effectiveness verification             | department, quality  | `record_measures` |
| D7   | prevention: documents changed, with their revision        | quality              | `verify`          |
| D8   | closure                                                   | quality, approver    |                   |

Quality's signature of D7 countersigns D6's effectiveness evidence: together they are 6.3.5's
verification. Each step is validated into plain JSON here; the service (eightd.py) runs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from cases.domain.enums import Role as R
from cases.domain.errors import InvalidInput
from cases.domain.states import Action
from cases.quality.agreements import Step as Agreed

MAX_TEXT = 8000
MAX_ITEMS = 50
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class D(StrEnum):
    D0 = "D0"
    D1 = "D1"
    D2 = "D2"
    D3 = "D3"
    D4 = "D4"
    D5 = "D5"
    D6 = "D6"
    D7 = "D7"
    D8 = "D8"


ORDER: tuple[D, ...] = tuple(D)
CONTAINMENT_WHERE = ("our_plant", "in_transit", "at_customer")
CAUSE_CATEGORIES = ("man", "machine", "material", "method", "measurement", "environment")
DOCUMENTS = ("control_plan", "pfmea", "work_instruction", "dfmea", "inspection_instruction", "other")
IS_IS_NOT = ("what", "where", "when", "how_many")
Content = dict[str, Any]


# -- validation helpers: the user's mistakes, named by their path in the body ------------------
def _obj(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be an object", zh=f"{where} 须为对象")
    extra = sorted(set(value) - allowed)
    if extra:
        raise InvalidInput(
            f"{where} has unknown fields: {', '.join(extra)}", zh=f"{where} 含有未知字段：{', '.join(extra)}"
        )
    return value


def _text(value: Any, where: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be text", zh=f"{where} 须为文本")
    text: str = value.strip()
    if required and not text:
        raise InvalidInput(f"{where} must not be empty", zh=f"{where} 不能为空")
    if len(text) > MAX_TEXT or "\x00" in text:
        raise InvalidInput(
            f"{where} is longer than {MAX_TEXT} characters or holds a NUL",
            zh=f"{where} 超过 {MAX_TEXT} 个字符或含有 NUL 字符",
        )
    return text


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10**9:
        raise InvalidInput(f"{where} must be a whole number from 0", zh=f"{where} 须为不小于 0 的整数")
    return value


def _day(value: Any, where: str) -> str:
    text = _text(value, where)
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(f"{where} must be a date like 2026-10-09", zh=f"{where} 须为日期，例如 2026-10-09") from None


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInput(
            f"{where} must be one of {', '.join(choices)}", zh=f"{where} 须为以下之一：{', '.join(choices)}"
        )
    return str(value)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{where} must be a list with at least one item", zh=f"{where} 须为至少含一项的列表")
    if len(value) > MAX_ITEMS:
        raise InvalidInput(f"{where} has more than {MAX_ITEMS} items", zh=f"{where} 超过 {MAX_ITEMS} 项")
    return value


# -- each step ---------------------------------------------------------------------------------
def _d0(c: Content) -> Content:
    c = _obj(c, "D0", {"actions", "notified"})
    return {
        "actions": _text(c.get("actions"), "D0.actions"),
        "notified": _text(c.get("notified"), "D0.notified", False),
    }


def _d1(c: Content) -> Content:
    c = _obj(c, "D1", {"note"})
    return {"note": _text(c.get("note"), "D1.note", False)}


def _d2(c: Content) -> Content:
    c = _obj(c, "D2", {"statement", *IS_IS_NOT})
    out: Content = {"statement": _text(c.get("statement"), "D2.statement")}
    for key in IS_IS_NOT:
        pair = _obj(c.get(key), f"D2.{key}", {"is", "is_not"})
        out[key] = {
            "is": _text(pair.get("is"), f"D2.{key}.is"),
            "is_not": _text(pair.get("is_not"), f"D2.{key}.is_not"),
        }
    return out


def _d3(c: Content) -> Content:
    c = _obj(c, "D3", {"actions"})
    actions = []
    for i, a in enumerate(_list(c.get("actions"), "D3.actions")):
        w = f"D3.actions[{i}]"
        a = _obj(a, w, {"action", "where", "sorted", "found_bad", "result", "date"})
        sorted_, bad = _count(a.get("sorted"), f"{w}.sorted"), _count(a.get("found_bad"), f"{w}.found_bad")
        if bad > sorted_:
            raise InvalidInput(
                f"{w}: more parts found bad ({bad}) than sorted ({sorted_})",
                zh=f"{w}：发现的不良品数量（{bad}）多于挑选数量（{sorted_}）",
            )
        actions.append(
            {
                "action": _text(a.get("action"), f"{w}.action"),
                "where": _choice(a.get("where"), f"{w}.where", CONTAINMENT_WHERE),
                "sorted": sorted_,
                "found_bad": bad,
                "result": _text(a.get("result"), f"{w}.result"),
                "date": _day(a.get("date"), f"{w}.date"),
            }
        )
    return {"actions": actions}


def _chain(c: Any, where: str) -> Content:
    c = _obj(c, where, {"whys", "category", "root_cause"})
    whys = [_text(w, f"{where}.whys[{i}]") for i, w in enumerate(_list(c.get("whys"), f"{where}.whys"))]
    if len(whys) > 5:
        raise InvalidInput(
            f"{where}.whys: a 5-why chain has at most five answers", zh=f"{where}.whys：5Why 分析最多有五个回答"
        )
    return {
        "whys": whys,
        "category": _choice(c.get("category"), f"{where}.category", CAUSE_CATEGORIES),
        "root_cause": _text(c.get("root_cause"), f"{where}.root_cause"),
    }


def _d4(c: Content) -> Content:
    c = _obj(c, "D4", {"occurrence", "escape"})
    return {"occurrence": _chain(c.get("occurrence"), "D4.occurrence"), "escape": _chain(c.get("escape"), "D4.escape")}


def _d5(c: Content) -> Content:
    c = _obj(c, "D5", {"actions"})
    actions = []
    for i, a in enumerate(_list(c.get("actions"), "D5.actions")):
        w = f"D5.actions[{i}]"
        a = _obj(a, w, {"action", "addresses", "owner", "due"})
        actions.append(
            {
                "action": _text(a.get("action"), f"{w}.action"),
                "addresses": _choice(a.get("addresses"), f"{w}.addresses", ("occurrence", "escape")),
                "owner": _text(a.get("owner"), f"{w}.owner"),
                "due": _day(a.get("due"), f"{w}.due"),
            }
        )
    return {"actions": actions}


def _d6(c: Content) -> Content:
    c = _obj(c, "D6", {"implemented", "effectiveness"})
    done = []
    for i, a in enumerate(_list(c.get("implemented"), "D6.implemented")):
        w = f"D6.implemented[{i}]"
        a = _obj(a, w, {"action", "done_on"})
        done.append(
            {"action": _text(a.get("action"), f"{w}.action"), "done_on": _day(a.get("done_on"), f"{w}.done_on")}
        )
    e = _obj(c.get("effectiveness"), "D6.effectiveness", {"evidence", "from", "result"})
    return {
        "implemented": done,
        "effectiveness": {
            "evidence": _text(e.get("evidence"), "D6.effectiveness.evidence"),
            "from": _day(e.get("from"), "D6.effectiveness.from"),
            "result": _text(e.get("result"), "D6.effectiveness.result"),
        },
    }


def _d7(c: Content) -> Content:
    c = _obj(c, "D7", {"documents", "lessons"})
    docs = []
    for i, d in enumerate(_list(c.get("documents"), "D7.documents")):
        w = f"D7.documents[{i}]"
        d = _obj(d, w, {"document", "title", "revision"})
        docs.append(
            {
                "document": _choice(d.get("document"), f"{w}.document", DOCUMENTS),
                "title": _text(d.get("title"), f"{w}.title"),
                "revision": _text(d.get("revision"), f"{w}.revision"),
            }
        )
    return {"documents": docs, "lessons": _text(c.get("lessons"), "D7.lessons", False)}


def _d8(c: Content) -> Content:
    c = _obj(c, "D8", {"closure", "recognition"})
    return {
        "closure": _text(c.get("closure"), "D8.closure"),
        "recognition": _text(c.get("recognition"), "D8.recognition", False),
    }


@dataclass(frozen=True, slots=True)
class StepRule:
    title_en: str
    title_zh: str
    validate: Callable[[Content], Content]
    signers: frozenset[R]
    on_sign: Action | None = None  # the case's workflow step its signature takes
    answers: tuple[Agreed, ...] = ()  # agreed deadline steps its signature answers


_TEAM = frozenset({R.DEPARTMENT, R.QUALITY})
RULES: dict[D, StepRule] = {
    D.D0: StepRule("Emergency response", "紧急响应措施", _d0, _TEAM),
    D.D1: StepRule("Team", "成立小组", _d1, _TEAM),
    D.D2: StepRule("Problem description", "问题描述", _d2, _TEAM),
    D.D3: StepRule("Containment", "临时遏制措施", _d3, _TEAM, answers=(Agreed.FIRST_ANSWER, Agreed.CONTAINMENT)),
    D.D4: StepRule("Root cause", "根本原因分析", _d4, _TEAM, on_sign=Action.RECORD_ANALYSIS),
    D.D5: StepRule("Permanent corrective actions", "永久纠正措施", _d5, _TEAM),
    D.D6: StepRule("Implementation and effectiveness", "实施与效果验证", _d6, _TEAM, on_sign=Action.RECORD_MEASURES),
    D.D7: StepRule("Prevention", "预防再发生", _d7, frozenset({R.QUALITY}), on_sign=Action.VERIFY),
    D.D8: StepRule("Closure", "结案", _d8, frozenset({R.QUALITY, R.APPROVER})),
}

# Who writes a step's content: the responsible department or Quality (6.3.3), as for signing.
WRITERS: frozenset[R] = _TEAM

# Where the customer's rejection of a step sends the case (cases/domain/states.py).
RETURNS: dict[D, Action] = {
    **{d: Action.RETURN_TO_ANALYSIS for d in (D.D0, D.D1, D.D2, D.D3, D.D4)},
    D.D5: Action.RETURN_TO_MEASURES,
    D.D6: Action.RETURN_TO_MEASURES,
    D.D7: Action.RETURN_TO_VERIFICATION,
    D.D8: Action.RETURN_TO_VERIFICATION,  # D8 reopens from D7: Quality verifies again
}


def step_of(value: str) -> D:
    try:
        return D(value.strip().upper())
    except ValueError:
        raise InvalidInput(
            f"unknown 8D step {value!r}; one of: {', '.join(D)}", zh=f"未知的 8D 步骤 {value!r}；可选：{', '.join(D)}"
        ) from None


def summary(step: D, content: Content) -> str:
    """The text the case's own field keeps (analysis, measures, verification) from a step."""
    if step is D.D4:
        o, e = content["occurrence"], content["escape"]
        return f"occurrence ({o['category']}): {o['root_cause']}\nescape ({e['category']}): {e['root_cause']}"
    if step is D.D6:
        lines = [f"- {a['action']} ({a['done_on']})" for a in content["implemented"]]
        eff = content["effectiveness"]
        return "\n".join([*lines, f"effective from {eff['from']}: {eff['result']}"])
    if step is D.D7:
        docs = ", ".join(f"{d['document']} {d['title']} rev. {d['revision']}" for d in content["documents"])
        return f"D6 effectiveness countersigned; documents changed: {docs}"
    return ""
