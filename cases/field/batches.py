"""Batch traceability (procedure 6.5.2 c): for a batch, every customer and shipment that
received it and every complaint about it, so that the same batch can be recalled and exchanged.

Complaints are the cases that name the batch (on the case, or on a warranty part of the case)
and the field failure records of the batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.errors import InvalidInput, NotFound
from cases.store.models import Case, Customer, FieldFailure, Shipment, WarrantyPart


async def batch_trace(s: AsyncSession, batch: str) -> dict[str, Any]:
    batch = (batch or "").strip()
    if not batch or len(batch) > 80:
        raise InvalidInput(
            "a batch is 1 to 80 characters, e.g. B2026-1107", zh="批次号为 1 至 80 个字符，例如 B2026-1107"
        )
    shipments = (
        await s.execute(
            select(Shipment, Customer.name)
            .outerjoin(Customer, Customer.id == Shipment.customer_id)
            .where(Shipment.batch == batch)
            .order_by(Shipment.month, Shipment.customer, Shipment.part_number)
        )
    ).all()
    case_ids: Any = union(
        select(Case.id).where(Case.batch == batch),
        select(WarrantyPart.case_id).where(WarrantyPart.batch == batch),
        select(FieldFailure.case_id).where(FieldFailure.batch == batch, FieldFailure.case_id.is_not(None)),
    )
    cases = (
        await s.execute(
            select(Case, Customer.name)
            .join(Customer, Customer.id == Case.customer_id)
            .where(Case.id.in_(case_ids))
            .order_by(Case.id)
        )
    ).all()
    failures = (
        await s.execute(
            select(FieldFailure.part_number, FieldFailure.failure_mode, func.count(), func.sum(FieldFailure.quantity))
            .where(FieldFailure.batch == batch)
            .group_by(FieldFailure.part_number, FieldFailure.failure_mode)
            .order_by(FieldFailure.part_number, FieldFailure.failure_mode)
        )
    ).all()
    if not shipments and not cases and not failures:
        raise NotFound(
            f"nothing is known of batch {batch}: no shipment, no complaint",
            zh=f"没有批次 {batch} 的任何记录：既无发货，也无投诉",
        )
    customers: dict[str, dict[str, Any]] = {}
    for ship, archived_name in shipments:
        key = archived_name or ship.customer or "(not named)"
        entry = customers.setdefault(
            key, {"customer": key, "customer_id": ship.customer_id, "shipped": 0, "complaints": 0}
        )
        entry["shipped"] += ship.quantity
    for case, name in cases:
        entry = customers.setdefault(
            name, {"customer": name, "customer_id": case.customer_id, "shipped": 0, "complaints": 0}
        )
        entry["complaints"] += 1
    return {
        "batch": batch,
        "shipped": sum(ship.quantity for ship, _ in shipments),
        "customers": sorted(customers.values(), key=lambda c: str(c["customer"])),
        "shipments": [
            {
                "part_number": ship.part_number,
                "customer": name or ship.customer,
                "customer_id": ship.customer_id,
                "month": ship.month.isoformat()[:7],
                "quantity": ship.quantity,
            }
            for ship, name in shipments
        ],
        "complaints": [
            {
                "reference": case.reference,
                "customer": name,
                "subject": case.subject,
                "state": case.state,
                "part_number": case.part_number,
                "received_at": case.received_at.isoformat(),
            }
            for case, name in cases
        ],
        "failures": [
            {"part_number": p, "failure_mode": m, "records": int(n), "quantity": int(q or 0)} for p, m, n, q in failures
        ],
    }
