"""Fan-out: turn committed outbox events into one delivery per (notice, channel, recipient).

Runs in its own transaction; the unique key (event, audience, channel, recipient) makes a
repeated fan-out after a crash harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.enums import Channel, Role
from cases.events import EventKind
from cases.models import Case, Delivery, DeliveryStatus, Department, OutboxEvent, User, UserRole
from cases.tokens import Signer
from notifications.callback import no_way_to_reach
from notifications.email_out import make_message_id
from notifications.reply_channel import customer_targets
from notifications.routing import ROUTES, Notice, To
from notifications.telegram import staff_chat_targets

log = logging.getLogger(__name__)

_ROLE_OF = {To.APPROVERS: Role.APPROVER, To.QUALITY: Role.QUALITY, To.SALES: Role.SALES}


class Fanout:
    def __init__(self, signer: Signer, mail_domain: str, cap_per_day: int) -> None:
        self.signer = signer
        self.mail_domain = mail_domain
        self.cap_per_day = cap_per_day

    async def run_once(self, s: AsyncSession, now: datetime, limit: int = 100) -> int:
        events = list((await s.execute(
            select(OutboxEvent).where(OutboxEvent.fanned_out_at.is_(None)).order_by(OutboxEvent.id)
            .limit(limit).with_for_update(skip_locked=True)
        )).scalars())
        for event in events:
            await self._fan_out(s, event, now)
            event.fanned_out_at = now
        return len(events)

    async def _fan_out(self, s: AsyncSession, event: OutboxEvent, now: datetime) -> None:
        case = await s.get(Case, event.case_id) if event.case_id else None
        if case is None:
            return
        for notice in ROUTES.get(EventKind(event.kind), ()):
            if notice.needs_auto_reply and not event.payload.get("auto_reply", True):
                continue
            targets = await self._recipients(s, notice, case)
            if not targets and notice.to is To.CUSTOMER:
                await no_way_to_reach(s, case, notice.template, now)  # a callback task for Sales
            for channel, recipient, language in targets:
                delivery = Delivery(
                    event_id=event.id, case_id=case.id, audience=notice.audience, template=notice.template,
                    channel=channel, recipient=recipient, language=language, status=DeliveryStatus.PENDING.value,
                    next_attempt_at=now, created_at=now, attempts=0,
                )
                if notice.to is To.CUSTOMER and channel == Channel.EMAIL.value:
                    delivery.message_id = event.payload.get("message_id") or make_message_id(
                        self.signer.case_token(case.reference), self.mail_domain)
                    if await self._over_cap(s, recipient, now):
                        delivery.status = DeliveryStatus.SUPPRESSED.value
                        delivery.last_error = f"more than {self.cap_per_day} automatic mails to this address today"
                        log.warning("%s: suppressed %s to a customer: daily cap", case.reference, notice.template)
                s.add(delivery)

    async def _recipients(self, s: AsyncSession, notice: Notice, case: Case) -> list[tuple[str, str, str]]:
        if notice.to is To.CUSTOMER:
            return await customer_targets(s, case)
        users = await self._staff(s, notice.to, case)
        return [(Channel.EMAIL.value, u.email, u.language) for u in users if u.email] + \
            await staff_chat_targets(s, notice.template, users)  # Telegram push, besides the email

    async def _staff(self, s: AsyncSession, to: To, case: Case) -> list[User]:
        stmt = select(User).where(User.active.is_(True))
        if to is To.DEPARTMENT and case.department_id is not None:
            stmt = stmt.where(User.department_id == case.department_id)
        else:
            role = _ROLE_OF.get(to, Role.APPROVER)  # no department yet: the approvers hear of it
            stmt = stmt.join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role.value)
        return list((await s.execute(stmt.order_by(User.id))).scalars().unique())

    async def _over_cap(self, s: AsyncSession, recipient: str, now: datetime) -> bool:
        """Cap automatic mail per recipient (FreeScout users saw 8,000-mail loops)."""
        count = (await s.execute(
            select(func.count(Delivery.id)).where(
                Delivery.recipient == recipient, Delivery.audience == "customer",
                Delivery.created_at >= now - timedelta(days=1),
                Delivery.status != DeliveryStatus.SUPPRESSED.value,
            )
        )).scalar_one()
        return count >= self.cap_per_day


def department_label(dept: Department | None, language: str) -> str:
    if dept is None:
        return ""
    return dept.name_en if language == "en" else dept.name_zh


def payload_text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value)
