"""First guesses for a new case from the customer's words, as tables a person can read.

Staff correct them when they approve; the guesses only save typing and route the notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cases.domain.enums import CaseType, Severity

# (words in subject or text, case type); the first table row that matches wins.
TYPE_RULES: tuple[tuple[tuple[str, ...], CaseType], ...] = (
    (("三包", "索赔", "warranty", "claim"), CaseType.WARRANTY_CLAIM),
    (("现场服务", "现场支持", "派人", "on-site", "onsite", "site visit"), CaseType.ONSITE_SERVICE),
    (("说明书", "手册", "manual", "instruction", "datasheet"), CaseType.DOCUMENT_REQUEST),
    (("质量记录", "检验记录", "inspection record", "quality record", "ppap"), CaseType.QUALITY_RECORD_QUERY),
    (("建议", "意见", "suggest", "proposal"), CaseType.SUGGESTION),
    (("咨询", "请问", "question", "inquiry", "enquiry", "how to"), CaseType.TECHNICAL_CONSULTATION),
)

SEVERITY_RULES: tuple[tuple[tuple[str, ...], Severity], ...] = (
    (("安全", "召回", "事故", "停线", "safety", "recall", "accident", "line stop"), Severity.CRITICAL),
    (("批量", "紧急", "urgent", "batch failure", "mass"), Severity.HIGH),
)

_FIELD_PATTERNS: dict[str, re.Pattern[str]] = {
    "part_number": re.compile(
        r"(?:零件号|零件编号|件号|图号|part\s*(?:no\.?|number|#))\s*[:：]?\s*([A-Za-z0-9][\w\-./]{2,40})", re.I
    ),
    "batch": re.compile(r"(?:批次号?|批号|batch|lot)\s*(?:no\.?|number)?\s*[:：]?\s*([A-Za-z0-9][\w\-./]{1,40})", re.I),
    "quantity": re.compile(r"(?:数量|quantity|qty)\s*[:：]?\s*(\d{1,9})", re.I),
    "vehicle": re.compile(r"\b([A-HJ-NPR-Z0-9]{17})\b|(?:车型|vehicle|VIN)\s*[:：]?\s*([\w\-]{2,40})", re.I),
}


# The chat bot's own "车型/VIN：" line holds what the customer typed, whole: "东风天龙 VIN
# LGAX4C351K1234567" keeps the VIN (the word pattern above would stop at "东风天龙").
_VEHICLE_LINE = re.compile(r"^[ \t]*(?:车型/VIN|Vehicle/VIN)[ \t]*[:：][ \t]*(\S[^\n]{1,79}?)[ \t]*$", re.I | re.M)


@dataclass(frozen=True, slots=True)
class Guess:
    type: CaseType
    severity: Severity
    part_number: str | None
    batch: str | None
    quantity: int | None
    vehicle: str | None


def _first(rules: tuple[tuple[tuple[str, ...], object], ...], text: str, default: object) -> object:
    for words, value in rules:
        if any(w in text for w in words):
            return value
    return default


def guess(subject: str, text: str) -> Guess:
    head = f"{subject}\n{text[:4000]}"
    lowered = head.lower()
    found: dict[str, str | None] = {}
    for name, pattern in _FIELD_PATTERNS.items():
        m = pattern.search(head)
        found[name] = next((g for g in m.groups() if g), None) if m else None
    if typed := _VEHICLE_LINE.search(head):
        found["vehicle"] = typed.group(1)
    quantity = found["quantity"]
    return Guess(
        type=_first(TYPE_RULES, lowered, CaseType.QUALITY_COMPLAINT),  # type: ignore[arg-type]
        severity=_first(SEVERITY_RULES, lowered, Severity.MEDIUM),  # type: ignore[arg-type]
        part_number=found["part_number"],
        batch=found["batch"],
        quantity=int(quantity) if quantity else None,
        vehicle=found["vehicle"],
    )
