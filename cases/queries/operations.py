"""What the person on call looks at: the quarantine, notices set aside, the backlog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.queries.case_views import MAX_LIMIT, Row, iso, redact
from cases.store.models import (
    Case,
    Delivery,
    DeliveryStatus,
    InboundMessage,
    InboundStatus,
    OutboxEvent,
    TelegramUpdate,
    UpdateStatus,
)

HELD = (InboundStatus.QUARANTINED, InboundStatus.IGNORED)


async def held_inbound(
    s: AsyncSession, statuses: tuple[InboundStatus, ...] = HELD, limit: int = 50, offset: int = 0
) -> Row:
    """Inbound messages a person should look at: quarantined or ignored, newest first."""
    where = InboundMessage.status.in_(statuses)
    total = (await s.execute(select(func.count()).select_from(InboundMessage).where(where))).scalar_one()
    rows = (
        await s.execute(
            select(
                InboundMessage.id,
                InboundMessage.channel,
                InboundMessage.status,
                InboundMessage.received_at,
                InboundMessage.envelope_from,
                InboundMessage.message_id,
                InboundMessage.reason,
                InboundMessage.rule_hits,
                InboundMessage.attempts,
                InboundMessage.size,
            )
            .where(where)
            .order_by(InboundMessage.id.desc())
            .limit(min(limit, MAX_LIMIT))
            .offset(offset)
        )
    ).all()
    items = [
        {
            "id": r[0],
            "channel": r[1],
            "status": r[2],
            "received_at": iso(r[3]),
            "envelope_from": redact(r[4]),
            "message_id": r[5],
            "reason": r[6],
            "rule_hits": list(r[7] or []),
            "attempts": r[8],
            "size": r[9],
        }
        for r in rows
    ]
    return {"items": items, "total": total}


async def set_aside_events(s: AsyncSession, limit: int = 50, offset: int = 0) -> Row:
    """Outbox events the fan-out could not handle even on their own, newest first."""
    where = OutboxEvent.fanout_error.is_not(None)
    total = (await s.execute(select(func.count()).select_from(OutboxEvent).where(where))).scalar_one()
    rows = (
        await s.execute(
            select(
                OutboxEvent.id,
                OutboxEvent.kind,
                Case.reference,
                OutboxEvent.created_at,
                OutboxEvent.fanned_out_at,
                OutboxEvent.fanout_error,
            )
            .outerjoin(Case, Case.id == OutboxEvent.case_id)
            .where(where)
            .order_by(OutboxEvent.id.desc())
            .limit(min(limit, MAX_LIMIT))
            .offset(offset)
        )
    ).all()
    items = [
        {"id": r[0], "kind": r[1], "case": r[2], "created_at": iso(r[3]), "set_aside_at": iso(r[4]), "error": r[5]}
        for r in rows
    ]
    return {"items": items, "total": total}


async def failed_updates(s: AsyncSession, limit: int = 50, offset: int = 0) -> Row:
    """Telegram updates kept as failed (a handler failed three times, or the database refused to
    store them), newest first."""
    where = TelegramUpdate.status == UpdateStatus.FAILED
    total = (await s.execute(select(func.count()).select_from(TelegramUpdate).where(where))).scalar_one()
    rows = (
        await s.execute(
            select(
                TelegramUpdate.update_id,
                TelegramUpdate.chat_id,
                TelegramUpdate.received_at,
                TelegramUpdate.attempts,
                TelegramUpdate.error,
            )
            .where(where)
            .order_by(TelegramUpdate.update_id.desc())
            .limit(min(limit, MAX_LIMIT))
            .offset(offset)
        )
    ).all()
    items = [
        {"update_id": r[0], "chat_id": r[1], "received_at": iso(r[2]), "attempts": r[3], "error": r[4]} for r in rows
    ]
    return {"items": items, "total": total}


async def backlog(s: AsyncSession, now: datetime) -> Row:
    """What is waiting, for the person on call (GET /health): counts only, each read from an
    index. Mail that stays pending means the processor is stuck; a growing quarantine or dead
    notices want a look (GET /inbound?status=quarantined)."""
    m, d = InboundMessage, Delivery

    async def count(model: Any, *where: ColumnElement[bool]) -> int:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    oldest = (
        await s.execute(select(m.received_at).where(m.status == InboundStatus.PENDING).order_by(m.id).limit(1))
    ).scalar_one_or_none()
    return {
        "inbound_pending": await count(m, m.status == InboundStatus.PENDING),
        "oldest_pending_seconds": max(0, round((now - oldest).total_seconds())) if oldest else None,
        "inbound_quarantined": await count(m, m.status == InboundStatus.QUARANTINED),
        "notices_pending": await count(d, d.status == DeliveryStatus.PENDING),
        "notices_dead": await count(d, d.status == DeliveryStatus.DEAD),
    }
