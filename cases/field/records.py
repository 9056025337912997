"""Field failure records: what the early warning and the reports count (procedure 6.5).

Three sources feed them, each once per source row (the unique key `(source_kind, source_id)`;
feeding again updates the record, never doubles it):

| source           | when                                      | one record of                     |
|------------------|-------------------------------------------|-----------------------------------|
| `complaint`      | a case with a part number                 | the case (quantity: the case's)   |
| `warranty_part`  | a returned part or lot is recorded        | the part, its mode, dates, mileage |
| `service_report` | a service report names parts replaced     | the parts replaced on site        |

A case's complaint record stands for its failure until the case has a warranty part or a
service report with parts: those describe the same failure better, so the complaint's record
gives way to them and the failure is not counted twice.

The quality services feed their records in their own unit of work; intake opens cases in
batches (and the fax reader may fill the part number in later), so complaints are also fed by
`catch_up`, which the early-warning scan runs first.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.store.db import Database
from cases.store.models import Case, FieldFailure, ServiceReport, WarrantyPart

log = logging.getLogger(__name__)

COMPLAINT = "complaint"
WARRANTY_PART = "warranty_part"
SERVICE_REPORT = "service_report"
CATCH_UP_CHUNK = 500
_PART = re.compile(r"(?:零件号|件号|图号|part\s*(?:no\.?|number|#))\s*[:：]?\s*([A-Za-z0-9][\w\-./]{2,40})", re.I)


async def _upsert(s: AsyncSession, *rows: dict[str, Any]) -> None:
    """Insert the records, or update the one of the same source: one statement for all."""
    dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(FieldFailure).values(list(rows))
    changing = {k: stmt.excluded[k] for k in rows[0] if k not in ("source_kind", "source_id", "recorded_at")}
    await s.execute(stmt.on_conflict_do_update(index_elements=["source_kind", "source_id"], set_=changing))


def _local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


async def feed_case(s: AsyncSession, case: Case, tz: ZoneInfo, now: datetime) -> bool:
    """The complaint's record, when the case names a part and no better record describes it."""
    if not case.part_number:
        return False
    better = await s.scalar(
        select(exists().where(FieldFailure.case_id == case.id, FieldFailure.source_kind != COMPLAINT))
    )
    if better:
        return False
    await _upsert(s, _complaint(case, tz, now))
    return True


def _complaint(case: Case, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    assert case.part_number
    return {
        "source_kind": COMPLAINT,
        "source_id": case.id,
        "case_id": case.id,
        "customer_id": case.customer_id,
        "part_number": case.part_number[:80],
        "batch": case.batch,
        "failure_mode": "",
        "failure_date": _local_day(case.received_at, tz),
        "production_date": None,
        "months_in_service": None,
        "mileage_km": None,
        "quantity": max(1, case.quantity or 1),
        "recorded_at": now,
    }


async def _gives_way(s: AsyncSession, case_id: int) -> None:
    await s.execute(delete(FieldFailure).where(FieldFailure.case_id == case_id, FieldFailure.source_kind == COMPLAINT))


async def feed_warranty_part(s: AsyncSession, part: WarrantyPart, case: Case, tz: ZoneInfo, now: datetime) -> None:
    await _gives_way(s, case.id)
    await _upsert(
        s,
        {
            "source_kind": WARRANTY_PART,
            "source_id": part.id,
            "case_id": case.id,
            "customer_id": case.customer_id,
            "part_number": part.part_number,
            "batch": part.batch or case.batch,
            "failure_mode": part.failure_mode or "",
            "failure_date": part.failure_date or part.received_on or _local_day(part.created_at, tz),
            "production_date": part.production_date,
            "months_in_service": part.months_in_service,
            "mileage_km": part.mileage_km,
            "quantity": max(1, part.quantity_received),
            "recorded_at": now,
        },
    )


def replaced_part_number(report: ServiceReport, case: Case) -> str | None:
    """The part a service report replaced: named in its text, else the case's part."""
    text = (report.parts_replaced or "").strip()
    if not text:
        return None
    found = _PART.search(text)
    if found:
        return found.group(1)[:80]
    return case.part_number or text.split()[0][:80]


async def feed_service_report(s: AsyncSession, report: ServiceReport, case: Case, tz: ZoneInfo, now: datetime) -> bool:
    part_number = replaced_part_number(report, case)
    if part_number is None:
        return False
    await _gives_way(s, case.id)
    await _upsert(
        s,
        {
            "source_kind": SERVICE_REPORT,
            "source_id": report.id,
            "case_id": case.id,
            "customer_id": case.customer_id,
            "part_number": part_number,
            "batch": case.batch,
            "failure_mode": report.failure_mode or "",
            "failure_date": _local_day(report.reported_at or report.planned_start, tz),
            "production_date": None,
            "months_in_service": None,
            "mileage_km": None,
            "quantity": 1,
            "recorded_at": now,
        },
    )
    return True


async def catch_up(db: Database, tz: ZoneInfo, now: datetime) -> int:
    """Feed what is missing or changed: cases with a part number and no record, complaint
    records whose case's part or batch changed since (the fax reader filled them in), warranty
    parts and filed service reports without a record. Returns how many records it wrote.

    The cases go CATCH_UP_CHUNK at a time, each chunk its own short transaction of three
    statements, the event loop free between them: the first scan after an upgrade meets
    every case of the archive at once (100,000 took minutes case by case, the write lock and
    the web's event loop held all along)."""
    written = 0
    has_record = exists().where(FieldFailure.case_id == Case.id)
    changed = exists().where(
        FieldFailure.case_id == Case.id,
        FieldFailure.source_kind == COMPLAINT,
        or_(FieldFailure.part_number != Case.part_number, FieldFailure.batch.is_distinct_from(Case.batch)),
    )
    last = 0
    while True:
        async with db.unit_of_work() as s:
            cases = list(
                (
                    await s.execute(
                        select(Case)
                        .where(Case.id > last, Case.part_number.is_not(None), Case.part_number != "")
                        .where(or_(~has_record, changed))
                        .order_by(Case.id)
                        .limit(CATCH_UP_CHUNK)
                    )
                ).scalars()
            )
            if cases:
                better = set(
                    (
                        await s.execute(
                            select(FieldFailure.case_id).where(
                                FieldFailure.case_id.in_([c.id for c in cases]), FieldFailure.source_kind != COMPLAINT
                            )
                        )
                    ).scalars()
                )
                rows = [_complaint(c, tz, now) for c in cases if c.id not in better]
                if rows:
                    await _upsert(s, *rows)
                written += len(rows)
        if len(cases) < CATCH_UP_CHUNK:
            break
        last = cases[-1].id
        await asyncio.sleep(0)  # the web's requests between two chunks
    async with db.unit_of_work() as s:
        written += await _feed_quality_records(s, tz, now)
    if written:
        log.info("field records: %d fed by the catch-up", written)
    return written


async def _feed_quality_records(s: AsyncSession, tz: ZoneInfo, now: datetime) -> int:
    """Warranty parts and filed service reports without a record (few: their services feed them
    as they are written)."""
    written = 0
    part_missing = ~exists().where(FieldFailure.source_kind == WARRANTY_PART, FieldFailure.source_id == WarrantyPart.id)
    for part, case in (
        await s.execute(select(WarrantyPart, Case).join(Case, Case.id == WarrantyPart.case_id).where(part_missing))
    ).all():
        await feed_warranty_part(s, part, case, tz, now)
        written += 1
    report_missing = ~exists().where(
        FieldFailure.source_kind == SERVICE_REPORT, FieldFailure.source_id == ServiceReport.id
    )
    for report, case in (
        await s.execute(
            select(ServiceReport, Case)
            .join(Case, Case.id == ServiceReport.case_id)
            .where(and_(ServiceReport.parts_replaced.is_not(None), ServiceReport.parts_replaced != ""), report_missing)
        )
    ).all():
        written += await feed_service_report(s, report, case, tz, now)
    return written
