"""The orders that are not alphabetical: a case's severity by grade and its state by the
workflow. The case list sorts by them (cases/queries/keyset.py) through rank columns the
database computes from these tables (cases/store/models/case.py, migration 0024)."""

from __future__ import annotations

from enum import StrEnum

from cases.domain.enums import Severity
from cases.domain.states import WORKFLOW_ORDER

# Lowest grade first: ascending is low -> critical, descending puts the critical cases on top.
GRADE_ORDER: tuple[Severity, ...] = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
STATE_ORDER = WORKFLOW_ORDER


def rank_sql(column: str, order: tuple[StrEnum, ...]) -> str:
    """`CASE column WHEN 'low' THEN 1 ... ELSE 0 END`: the rank of each value, 1 for the first;
    0 for a value the table does not know (never NULL: the keyset compares ranks as row values)."""
    whens = " ".join(f"WHEN '{value.value}' THEN {n}" for n, value in enumerate(order, start=1))
    return f"CASE {column} {whens} ELSE 0 END"
