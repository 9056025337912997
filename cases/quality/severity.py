"""Severity from the form (procedure 6.3.3): the failure category gives a grade by a table an
admin keeps (the `severity` rule table, cases/rules/tables.py), and raisers lift it one grade each. The approver's choice wins:
once they set the severity, the table no longer changes it.

| raiser           | when                                                  |
|------------------|-------------------------------------------------------|
| `field_failure`  | the part failed in the field (at the end customer)    |
| `quantity`       | the quantity on the form is above the threshold       |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import Severity
from cases.domain.ranks import GRADE_ORDER
from cases.rules import store
from cases.rules.tables import SEVERITY
from cases.store.models import Case

GRADES: tuple[Severity, ...] = GRADE_ORDER


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
    return {category: Severity(grade) for category, grade in (await store.values(s, SEVERITY)).items()}


async def derived(s: AsyncSession, case: Case, threshold: int) -> tuple[Severity, list[str]] | None:
    """The grade the table and raisers give this case, and which raisers fired; None without a
    failure category (the intake's keyword guess stands)."""
    if case.failure_category is None:
        return None
    table = await rules(s)
    base = table.get(case.failure_category, Severity.MEDIUM)
    fired = [r.name for r in RAISERS if r.applies(case, threshold)]
    return raise_by(base, len(fired)), fired
