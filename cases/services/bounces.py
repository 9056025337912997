"""Delivery status notifications about our own notices: recorded on the notice, never a case.

A bounce is matched to the delivery it is about by the signed VERP token of its envelope
recipient (``service+b42.<sig>@…``, set by the dispatcher) or else by the Message-ID of the
returned mail. The delivery keeps the report's action and status code; a permanent failure
(``failed``, 5.x.x) marks the customer's address, so that no customer notice goes there
again, and tells Sales once (an ``address_bounced`` event) that the customer cannot be reached
by it. Staff clear a wrong mark (``clear_bounce``). A report that matches no notice of ours
is not handled here: the processor quarantines it with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import SYSTEM, Actor
from cases.domain.delivery_report import DeliveryReport, ReportedRecipient
from cases.domain.enums import Channel
from cases.domain.errors import NotFound
from cases.domain.events import EventKind
from cases.domain.tokens import Signer
from cases.services.records import emit, record_history
from cases.store.models import Case, Delivery, Identity

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    case: Case | None  # the case of the notice (the report joins none of its conversation)
    note: str  # what was recorded, for the inbound row


async def record_report(
    session: AsyncSession, signer: Signer, report: DeliveryReport, now: datetime
) -> ReportOutcome | None:
    """Record the report on the delivery it is about; None when it is about none of ours."""
    delivery = await _delivery_of(session, signer, report)
    if delivery is None:
        return None
    said = _about(delivery, report)
    delivery.dsn_action, delivery.dsn_status = said.action[:20], said.status[:20]
    delivery.dsn_diagnostic, delivery.dsn_at = said.diagnostic or None, now
    case = await session.get(Case, delivery.case_id) if delivery.case_id is not None else None
    marked = said.permanent and await _mark(session, delivery, said, now)
    note = f"delivery #{delivery.id} ({delivery.template} to {delivery.recipient}): {said.action} {said.status}"
    if marked:
        note += "; the address is marked as bouncing"
    if case is not None:
        action = "delivery_failed" if said.action == "failed" else f"delivery_{said.action}"[:40]
        record_history(session, case=case, at=now, actor=SYSTEM, action=action, note=note[:500])
        if marked:
            emit(
                session,
                EventKind.ADDRESS_BOUNCED,
                case,
                now,
                address=delivery.recipient,
                status=said.status,
                diagnostic=said.diagnostic[:500],
            )
    log.info("%s: delivery report recorded: %s", case.reference if case else "-", note)
    return ReportOutcome(case, note)


async def _delivery_of(session: AsyncSession, signer: Signer, report: DeliveryReport) -> Delivery | None:
    for token in report.return_tokens:
        delivery_id = signer.verify_bounce_token(token)
        if delivery_id is not None and (found := await session.get(Delivery, delivery_id)) is not None:
            return found
    if not report.original_message_ids:
        return None
    candidates = (
        (
            await session.execute(
                select(Delivery)
                .where(Delivery.message_id.in_(report.original_message_ids[:50]))
                .order_by(Delivery.id.desc())
            )
        )
        .scalars()
        .all()
    )
    reported = {r.address for r in report.recipients}
    return next((d for d in candidates if d.recipient in reported), candidates[0] if candidates else None)


def _about(delivery: Delivery, report: DeliveryReport) -> ReportedRecipient:
    """The report's entry for the delivery's recipient; else its first (a forwarded address
    bounces under another name); else a failure with no code."""
    mine = [r for r in report.recipients if r.address == delivery.recipient.lower()]
    if mine:
        return mine[0]
    if report.recipients:
        return report.recipients[0]
    return ReportedRecipient(delivery.recipient, "failed", "5.0.0")


async def _mark(session: AsyncSession, delivery: Delivery, said: ReportedRecipient, now: datetime) -> bool:
    """Mark the customer's address; True when it was not marked before (Sales hear of it once)."""
    if delivery.audience != "customer" or delivery.channel != Channel.EMAIL:
        return False
    identity = (
        await session.execute(
            select(Identity).where(Identity.kind == Channel.EMAIL, Identity.value == delivery.recipient.lower())
        )
    ).scalar_one_or_none()
    if identity is None or identity.bounced_at is not None:
        return False
    identity.bounced_at, identity.bounce_status = now, said.status[:20]
    return True


async def clear_bounce(session: AsyncSession, identity_id: int, actor: Actor) -> Identity:
    """Staff clear the bounce mark of an address (a wrong match, or the mailbox works again)."""
    identity = await session.get(Identity, identity_id, with_for_update=True)
    if identity is None:
        raise NotFound(f"no identity #{identity_id}", zh=f"联系方式 #{identity_id} 不存在")
    if identity.bounced_at is not None:
        log.info("identity #%d: bounce mark (%s) cleared by %s", identity.id, identity.bounce_status, actor.label)
    identity.bounced_at, identity.bounce_status = None, None
    return identity
