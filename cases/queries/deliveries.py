"""The notices of a case and what became of them (sent, bounced, delayed), for the case detail;
the contact's addresses marked as bouncing, which staff may clear."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.store.models import Delivery, Identity


def _iso(value: datetime | None) -> str | None:
    # As case_views.iso (which imports this module): UTC with a Z.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


async def of_case(s: AsyncSession, case_id: int) -> list[dict[str, Any]]:
    d = Delivery
    rows = (
        await s.execute(
            select(
                d.id,
                d.audience,
                d.template,
                d.channel,
                d.recipient,
                d.status,
                d.attempts,
                d.sent_at,
                d.last_error,
                d.dsn_action,
                d.dsn_status,
                d.dsn_diagnostic,
                d.dsn_at,
                d.created_at,
            )
            .where(d.case_id == case_id)
            .order_by(d.id)
        )
    ).all()
    return [
        {
            "id": r.id,
            "audience": r.audience,
            "template": r.template,
            "channel": r.channel,
            "recipient": r.recipient,
            "status": r.status,
            "attempts": r.attempts,
            "created_at": _iso(r.created_at),
            "sent_at": _iso(r.sent_at),
            "last_error": r.last_error,
            # What a delivery status notification (bounce) said of it, RFC 3464 / RFC 3463.
            "dsn": None
            if r.dsn_action is None
            else {"action": r.dsn_action, "status": r.dsn_status, "diagnostic": r.dsn_diagnostic, "at": _iso(r.dsn_at)},
        }
        for r in rows
    ]


async def bounced_addresses(s: AsyncSession, contact_id: int) -> list[dict[str, Any]]:
    """The contact's identities marked by a permanent bounce (POST /identities/{id}/clear-bounce)."""
    i = Identity
    rows = (
        await s.execute(
            select(i.id, i.kind, i.value, i.bounce_status, i.bounced_at)
            .where(i.contact_id == contact_id, i.bounced_at.is_not(None))
            .order_by(i.id)
        )
    ).all()
    return [
        {
            "identity_id": r.id,
            "kind": r.kind,
            "value": r.value,
            "status": r.bounce_status,
            "bounced_at": _iso(r.bounced_at),
        }
        for r in rows
    ]
