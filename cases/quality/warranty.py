"""Warranty claim parts (三包索赔件, procedure 6.2.6 and 6.2.8).

Sales (or Quality) records each returned part or lot on the case as fields, not text: what the
early warning and the reports count. Quality analyses it and decides the responsibility:

| decision           | what follows                                                          |
|--------------------|-----------------------------------------------------------------------|
| `not_ours`         | the explanation goes to the customer (template, zh/en) with the evidence |
| `no_trouble_found` | the same: the part meets the agreed test criteria (NTF)               |
| `ours`             | the corrective action starts: the department and Quality are told, and |
|                    | the customer's CAPA deadline, when they ask for one, becomes the case's |
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import Role
from cases.domain.errors import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from cases.domain.events import EventKind
from cases.domain.intake_message import Attachment
from cases.domain.states import DEADLINE_RUNS, TERMINAL
from cases.domain.vocabulary import label
from cases.field.records import feed_warranty_part
from cases.quality import failure_modes
from cases.quality.due_steps import DueSteps, iso
from cases.quality.files import file_row, store_file
from cases.services.deadlines import Deadlines, parse_deadline
from cases.services.records import emit, locked_case, record_history
from cases.store.db import Database
from cases.store.models import Case, QualityFile, WarrantyPart

log = logging.getLogger(__name__)


class Decision(StrEnum):
    OURS = "ours"
    NOT_OURS = "not_ours"
    NO_TROUBLE_FOUND = "no_trouble_found"


RECORDERS: frozenset[Role] = frozenset({Role.SALES, Role.QUALITY})  # Sales receives the claim (6.2.8)
DECIDERS: frozenset[Role] = frozenset({Role.QUALITY})
MAX_TEXT = 20000
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class PartInput:
    """A returned part as the caller gives it; dates as YYYY-MM-DD text, checked here."""

    part_number: str
    quantity_received: int = 1
    batch: str | None = None
    vin: str | None = None
    mileage_km: int | None = None
    months_in_service: int | None = None
    failure_description: str = ""
    failure_mode: str | None = None
    failure_date: str | None = None
    production_date: str | None = None
    claim_number: str | None = None
    received_on: str | None = None
    cost_cents: int | None = None
    currency: str = "CNY"


def _short(value: str | None, what: str, limit: int) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters", zh=f"{what} 超过 {limit} 个字符")
    return value or None


def _day(value: str | None, what: str) -> date | None:
    if not (value or "").strip():
        return None
    try:
        if not _DAY.fullmatch((value or "").strip()):
            raise ValueError(value)
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise InvalidInput(
            f"{what} must be a date like 2026-09-30, got {value!r}",
            zh=f"{what} 须为日期，例如 2026-09-30，实际为 {value!r}",
        ) from None


def part_values(p: PartInput) -> dict[str, Any]:
    part_number = _short(p.part_number, "the part number", 80)
    if not part_number:
        raise InvalidInput("the part number must not be empty", zh="零件号不能为空")
    currency = (p.currency or "CNY").strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise InvalidInput(
            f"the currency is a three-letter code such as CNY, got {p.currency!r}",
            zh=f"币种须为三个字母的代码，例如 CNY，实际为 {p.currency!r}",
        )
    if len(p.failure_description) > MAX_TEXT:
        raise InvalidInput(
            f"the failure description is longer than {MAX_TEXT} characters", zh=f"失效描述超过 {MAX_TEXT} 个字符"
        )
    return {
        "part_number": part_number,
        "quantity_received": p.quantity_received,
        "batch": _short(p.batch, "the batch", 80),
        "vin": _short(p.vin, "the vehicle (VIN)", 40),
        "mileage_km": p.mileage_km,
        "months_in_service": p.months_in_service,
        "failure_description": p.failure_description.strip(),
        "failure_mode": _short(p.failure_mode, "the failure mode code", 40),
        "failure_date": _day(p.failure_date, "the failure date"),
        "production_date": _day(p.production_date, "the production date"),
        "claim_number": _short(p.claim_number, "the claim number", 80),
        "received_on": _day(p.received_on, "the date received"),
        "cost_cents": p.cost_cents,
        "currency": currency,
    }


PART_FIELDS = tuple(f.name for f in fields(PartInput))


def part_row(part: WarrantyPart, files: list[QualityFile], reference: str) -> dict[str, Any]:
    row: dict[str, Any] = {"id": part.id}
    for name in PART_FIELDS:
        value = getattr(part, name)
        row[name] = value.isoformat() if isinstance(value, date) else value
    row.update(
        {
            "decision": part.decision,
            "test_results": part.test_results,
            "decided_by": part.decided_by,
            "decided_at": iso(part.decided_at),
            "created_by": part.created_by,
            "created_at": iso(part.created_at),
            "evidence": [file_row(f, reference) for f in files],
        }
    )
    return row


class WarrantyParts:
    def __init__(self, db: Database, clock: Clock, deadlines: Deadlines, due_steps: DueSteps) -> None:
        self.db = db
        self.clock = clock
        self.deadlines = deadlines
        self.due_steps = due_steps

    async def add(self, actor: Actor, reference: str, part: PartInput) -> int:
        _needs(actor, RECORDERS, "recording a returned part")
        values = part_values(part)
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await _open_case(s, reference)
            if values["failure_mode"]:  # one of the managed list, as the reports count them
                values["failure_mode"] = await failure_modes.known(s, values["failure_mode"])
            row = WarrantyPart(case_id=case.id, created_by=actor.label[:120], created_at=now, **values)
            s.add(row)
            await s.flush()
            await feed_warranty_part(s, row, case, self.deadlines.tz, now)  # what the early warning counts
            note = f"part {row.part_number} × {row.quantity_received}" + (
                f", claim {row.claim_number}" if row.claim_number else ""
            )
            record_history(s, case=case, at=now, actor=actor, action="warranty_part_added", note=note)
        log.info("%s: warranty part #%d recorded by %s", case.reference, row.id, actor.label)
        return row.id

    async def add_evidence(self, actor: Actor, reference: str, part_id: int, upload: Attachment) -> int:
        _needs(actor, DECIDERS, "adding test evidence")
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await _open_case(s, reference)
            part = await _part(s, case, part_id)
            f = await store_file(s, actor, case.id, upload, "evidence", now, warranty_part_id=part.id)
            record_history(s, case=case, at=now, actor=actor, action="warranty_evidence_added", note=f.filename)
        return f.id

    async def decide(
        self,
        actor: Actor,
        reference: str,
        part_id: int,
        decision: str,
        test_results: str,
        capa_deadline: str | None = None,
    ) -> Case:
        _needs(actor, DECIDERS, "deciding the responsibility for a returned part")
        try:
            decided = Decision(decision)
        except ValueError:
            raise InvalidInput(
                f"unknown decision {decision!r}; one of: {', '.join(Decision)}",
                zh=f"未知的判定 {decision!r}；可选：{', '.join(Decision)}",
            ) from None
        test_results = (test_results or "").strip()
        if not test_results:
            raise InvalidInput(
                "the test results (the evidence against the agreed criteria) must not be empty",
                zh="试验结果（对照约定判定标准的证据）不能为空",
            )
        if len(test_results) > MAX_TEXT:
            raise InvalidInput(
                f"the test results are longer than {MAX_TEXT} characters", zh=f"试验结果超过 {MAX_TEXT} 个字符"
            )
        now = self.clock()
        due = parse_deadline(capa_deadline, self.deadlines.tz, now) if capa_deadline else None
        if due is not None and decided is not Decision.OURS:
            raise InvalidInput(
                "a CAPA deadline belongs to a part decided 'ours'", zh="只有判定为“我方责任”的质保件才有纠正措施期限"
            )
        async with self.db.unit_of_work() as s:
            case = await _open_case(s, reference)
            part = await _part(s, case, part_id, lock=True)
            if part.decision is not None:
                raise Conflict(
                    f"part #{part.id} was decided '{part.decision}' by {part.decided_by}",
                    zh=f"质保件 #{part.id} 已由 {part.decided_by} 判定为“{label('warranty_decision', part.decision, 'zh')}”",
                )
            part.decision, part.test_results = decided.value, test_results
            part.decided_by, part.decided_at = actor.label[:120], now
            record_history(
                s,
                case=case,
                at=now,
                actor=actor,
                action="warranty_decided",
                changes={"decision": [None, decided.value]},
                note=f"part #{part.id} {part.part_number}: {decided.value}",
            )
            details = _details(part)
            if decided is Decision.OURS:
                if due is not None:
                    if case.state not in DEADLINE_RUNS:
                        raise IllegalTransition(
                            f"a case in state '{case.state}' has been answered; no deadline",
                            zh=f"案件状态为“{label('state', case.state, 'zh')}”，已答复客户；不再设定期限",
                        )
                    self.deadlines.apply(s, case, due, actor, now, f"CAPA deadline of warranty part #{part.id}")
                    await self.due_steps.plan(s, case)
                emit(s, EventKind.WARRANTY_OURS, case, now, details=details)
            else:
                evidence = (
                    await s.execute(
                        select(QualityFile).where(QualityFile.warranty_part_id == part.id).order_by(QualityFile.id)
                    )
                ).scalars()
                attachments = [
                    {"sha256": f.sha256, "filename": f.filename, "content_type": f.content_type} for f in evidence
                ]
                emit(s, EventKind.WARRANTY_EXPLAINED, case, now, details=details, attachments=attachments)
        log.info("%s: warranty part #%d decided %s by %s", case.reference, part_id, decided.value, actor.label)
        return case


def _details(part: WarrantyPart) -> dict[str, Any]:
    """What the notices say of the part (payload `details`, notifications/context.py)."""
    return {
        "part_id": part.id,
        "part_number": part.part_number,
        "batch": part.batch or "",
        "quantity": part.quantity_received,
        "claim_number": part.claim_number or "",
        "vin": part.vin or "",
        "failure_description": part.failure_description,
        "decision": part.decision,
        "test_results": part.test_results or "",
    }


def _needs(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if not actor.roles & roles:
        raise Forbidden(
            f"{what} needs the role {' or '.join(sorted(roles))}",
            zh=f"{what} 需要以下角色之一：{'、'.join(sorted(roles))}",
        )


async def _open_case(s: AsyncSession, reference: str) -> Case:
    case = await locked_case(s, reference)
    if case.state in TERMINAL:
        raise IllegalTransition(
            f"the case {case.reference} is {case.state}; reopen it first",
            zh=f"案件 {case.reference} 的状态为“{label('state', case.state, 'zh')}”；请先重新打开",
        )
    return case


async def _part(s: AsyncSession, case: Case, part_id: int, lock: bool = False) -> WarrantyPart:
    part = await s.get(WarrantyPart, part_id, with_for_update=lock)
    if part is None or part.case_id != case.id:
        raise NotFound(
            f"the case {case.reference} has no warranty part #{part_id}",
            zh=f"案件 {case.reference} 没有质保件 #{part_id}",
        )
    return part
