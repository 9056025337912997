"""Correcting the feedback form after intake: which role may change which field, as a table.
Every change is one history row with each field's before and after; a change of the failure
category, the quantity or the field-failure flag re-derives the severity from the table
(cases/quality/severity.py) unless the approver chose it; a part number and failure mode
look for repeats (cases/quality/repeats.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import CaseType, FailureCategory, Role, Severity
from cases.domain.errors import Forbidden, IllegalTransition, InvalidInput
from cases.domain.states import TERMINAL
from cases.domain.vocabulary import label
from cases.quality import failure_modes, repeats, severity
from cases.services.records import locked_case, record_history
from cases.store.models import Case, Contact, Customer

log = logging.getLogger(__name__)

_DESK = frozenset({Role.SALES, Role.QUALITY, Role.APPROVER})
_TECHNICAL = _DESK | {Role.DEPARTMENT}  # department members: on their own department's cases
# field -> the roles that may change it
EDITORS: dict[str, frozenset[Role]] = {
    "type": _DESK,
    "part_number": _TECHNICAL,
    "batch": _TECHNICAL,
    "quantity": _TECHNICAL,
    "vehicle": _TECHNICAL,
    "description": _TECHNICAL,
    "failure_mode": _TECHNICAL,
    "field_failure": _TECHNICAL,
    "failure_category": frozenset({Role.QUALITY, Role.APPROVER}),
    "severity": frozenset({Role.APPROVER}),  # the approver's choice wins (6.3.3)
    "customer_id": frozenset({Role.SALES, Role.APPROVER}),
    "contact_id": frozenset({Role.SALES, Role.APPROVER}),
}
_LIMITS = {"part_number": 80, "batch": 80, "vehicle": 80, "description": 20000}
_RE_DERIVE = {"failure_category", "quantity", "field_failure"}


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


async def _value(s: AsyncSession, name: str, raw: Any) -> Any:
    if name == "type":
        try:
            return CaseType(raw)
        except ValueError:
            raise InvalidInput(
                f"unknown case type {raw!r}; one of: {', '.join(CaseType)}",
                zh=f"未知的案件类型 {raw!r}；可选：{', '.join(CaseType)}",
            ) from None
    if name == "severity":
        try:
            return Severity(raw)
        except ValueError:
            raise InvalidInput(
                f"unknown severity {raw!r}; one of: {', '.join(Severity)}",
                zh=f"未知的严重度 {raw!r}；可选：{', '.join(Severity)}",
            ) from None
    if name == "failure_category":
        if raw is None:
            return None
        try:
            return FailureCategory(raw)
        except ValueError:
            raise InvalidInput(
                f"unknown failure category {raw!r}; one of: {', '.join(FailureCategory)}",
                zh=f"未知的失效类别 {raw!r}；可选：{', '.join(FailureCategory)}",
            ) from None
    if name == "failure_mode":
        return None if raw is None else await failure_modes.known(s, raw)
    if name in _LIMITS:
        text = (raw or "").strip()
        if len(text) > _LIMITS[name]:
            raise InvalidInput(
                f"the {name.replace('_', ' ')} is longer than {_LIMITS[name]} characters",
                zh=f"{name} 超过 {_LIMITS[name]} 个字符",
            )
        return text if name == "description" else (text or None)
    return raw  # quantity, field_failure, customer_id, contact_id: typed by the caller


async def correct(
    s: AsyncSession, actor: Actor, reference: str, fields: dict[str, Any], now: datetime, threshold: int, window: float
) -> tuple[Case, dict[str, list[Any]], list[str]]:
    """Apply the corrections in the caller's unit of work: (case, changes, repeats found)."""
    unknown = sorted(set(fields) - set(EDITORS))
    if unknown or not fields:
        raise InvalidInput(
            f"the form's fields are {', '.join(EDITORS)}" + (f"; not {', '.join(unknown)}" if unknown else ""),
            zh=f"表单字段为：{', '.join(EDITORS)}" + (f"；不包括 {', '.join(unknown)}" if unknown else ""),
        )
    for name in fields:
        if not actor.roles & EDITORS[name]:
            raise Forbidden(
                f"changing the {name.replace('_', ' ')} needs the role {' or '.join(sorted(EDITORS[name]))}",
                zh=f"修改 {name} 需要以下角色之一：{'、'.join(sorted(EDITORS[name]))}",
            )
    case = await locked_case(s, reference)
    if case.state in TERMINAL:
        raise IllegalTransition(
            f"the case {case.reference} is {case.state}; its form is kept as it was",
            zh=f"案件 {case.reference} 的状态为“{label('state', case.state, 'zh')}”；其表单保持原样",
        )
    if not actor.roles & _DESK and actor.department_id != case.department_id:
        raise Forbidden(
            "correcting the form: this case belongs to another department", zh="更正表单：此案件属于其他部门"
        )
    values = {name: await _value(s, name, raw) for name, raw in fields.items()}
    await _check_contact(s, case, values)
    changes: dict[str, list[Any]] = {}
    for name, value in values.items():
        if getattr(case, name) != value:
            changes[name] = [_plain(getattr(case, name)), _plain(value)]
            setattr(case, name, value)
    note = ""
    if "severity" in values:
        if not case.severity_by_approver:
            changes["severity_by_approver"] = [False, True]
        case.severity_by_approver = True
        note = "severity chosen by the approver"
    elif _RE_DERIVE & set(changes) and not case.severity_by_approver:
        found = await severity.derived(s, case, threshold)
        if found is not None:
            grade, fired = found
            note = f"severity from the table: {case.failure_category} -> {grade}" + (
                f" (raised by {', '.join(fired)})" if fired else ""
            )
            if grade != case.severity:
                changes["severity"] = [_plain(case.severity), grade.value]
                case.severity = grade
    found_repeats: list[str] = []
    if changes:
        case.updated_at = now
        record_history(s, case=case, at=now, actor=actor, action="form_corrected", changes=changes, note=note)
        log.info("%s: form corrected by %s (%s)", case.reference, actor.label, ", ".join(changes))
        if {"part_number", "failure_mode"} & set(changes):
            await s.flush()
            found_repeats = await repeats.link_repeats(s, case, actor, now, window)
    return case, changes, found_repeats


async def _check_contact(s: AsyncSession, case: Case, values: dict[str, Any]) -> None:
    customer_id = values.get("customer_id", case.customer_id)
    contact_id = values.get("contact_id", case.contact_id)
    if "customer_id" in values and await s.get(Customer, customer_id) is None:
        raise InvalidInput(f"no customer #{customer_id}", zh=f"客户 #{customer_id} 不存在")
    owner = (await s.execute(select(Contact.customer_id).where(Contact.id == contact_id))).scalar_one_or_none()
    if owner is None:
        raise InvalidInput(f"no contact #{contact_id}", zh=f"联系人 #{contact_id} 不存在")
    if owner != customer_id:
        raise InvalidInput(
            f"contact #{contact_id} belongs to another customer; give the customer's contact too",
            zh=f"联系人 #{contact_id} 属于其他客户；请同时提供该客户的联系人",
        )
