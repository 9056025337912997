"""Reads of the customer archive the console shows beside ArchiveService.customer: the merges
that touched a customer or its contacts, newest first, so that staff can undo one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.store.models import ArchiveMerge

LIMIT = 20


async def merges_of(
    s: AsyncSession, customer_id: int, contact_ids: list[int], limit: int = LIMIT
) -> list[dict[str, Any]]:
    """Customer merges and contact moves into or out of this customer; contact merges into or
    out of its contacts (`archive_merges` names contacts for kind "contact", customers else)."""
    about_customer = and_(
        ArchiveMerge.kind.in_(("customer", "contact_move")),
        or_(ArchiveMerge.source_id == customer_id, ArchiveMerge.target_id == customer_id),
    )
    about_contacts = and_(
        ArchiveMerge.kind == "contact",
        or_(ArchiveMerge.source_id.in_(contact_ids), ArchiveMerge.target_id.in_(contact_ids)),
    )
    rows = (
        await s.execute(
            select(ArchiveMerge)
            .where(or_(about_customer, about_contacts))
            .order_by(ArchiveMerge.id.desc())
            .limit(limit)
        )
    ).scalars()
    return [
        {
            "id": m.id,
            "kind": m.kind,
            "source_id": m.source_id,
            "target_id": m.target_id,
            "actor": m.actor,
            "created_at": m.created_at,
            "undone": m.undone_at is not None,
        }
        for m in rows
    ]
