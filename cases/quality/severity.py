"""Severity from the form (procedure 6.3.3): the failure category gives a grade by a table an
admin keeps (`severity_rules`), and raisers lift it one grade each. The approver's choice wins:
once they set the severity, the table no longer changes it.

| raiser           | when                                                  |
|------------------|-------------------------------------------------------|
| `field_failure`  | the part failed in the field (at the end customer)    |
| `quantity`       | the quantity on the form is above the threshold       |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import FailureCategory, Role, Severity
from cases.domain.errors import Forbidden, InvalidInput
from cases.domain.ranks import GRADE_ORDER
from cases.store.models import Case, SeverityRule

GRADES: tuple[Severity, ...] = GRADE_ORDER
RULE_KEEPERS: frozenset[Role] = frozenset({Role.ADMIN, Role.APPROVER})


@dataclass(frozen=True, slots=True)
class Raiser:
    name: str
    applies: Callable[[Case, int], bool]  # (case, quantity threshold)


RAISERS: tuple[Raiser, ...] = (
    Raiser("field_failure", lambda case, threshold: case.field_failure),
    Raiser("quantity", lambda case, threshold: case.quantity is not None and case.quantity > threshold),
)


def raise_by(grade: Severity, steps: int) -> Severity:
    return GRADES[min(GRADES.index(grade) + steps, len(GRADES) - 1)]


async def rules(s: AsyncSession) -> dict[str, Severity]:
    rows = (await s.execute(select(SeverityRule))).scalars()
    return {r.category: Severity(r.grade) for r in rows}


async def derived(s: AsyncSession, case: Case, threshold: int) -> tuple[Severity, list[str]] | None:
    """The grade the table and raisers give this case, and which raisers fired; None without a
    failure category (the intake's keyword guess stands)."""
    if case.failure_category is None:
        return None
    table = await rules(s)
    base = table.get(case.failure_category, Severity.MEDIUM)
    fired = [r.name for r in RAISERS if r.applies(case, threshold)]
    return raise_by(base, len(fired)), fired


async def set_rule(s: AsyncSession, actor: Actor, category: str, grade: str, now: datetime) -> SeverityRule:
    if not actor.roles & RULE_KEEPERS:
        raise Forbidden("changing the severity table needs the role admin or approver")
    try:
        cat, sev = FailureCategory(category), Severity(grade)
    except ValueError:
        raise InvalidInput(
            f"a category is one of {', '.join(FailureCategory)} and a grade one of {', '.join(Severity)}"
        ) from None
    row = await s.get(SeverityRule, cat.value, with_for_update=True)
    if row is None:
        row = SeverityRule(category=cat.value, grade=sev.value, updated_by=actor.label[:120], updated_at=now)
        s.add(row)
    else:
        row.grade, row.updated_by, row.updated_at = sev.value, actor.label[:120], now
    return row
