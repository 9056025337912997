"""Fan-out: turn committed outbox events into one delivery per (notice, channel, recipient).

Runs in its own transaction; the unique key (event, audience, channel, recipient) makes a
repeated fan-out after a crash harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import Channel, Direction, Language, Role
from cases.domain.events import EventKind
from cases.domain.tokens import Signer
from cases.store.models import (
    Case,
    CaseMessage,
    Contact,
    Delivery,
    DeliveryStatus,
    Department,
    Identity,
    OutboxEvent,
    User,
    UserRole,
)
from notifications.batch import by_id
from notifications.callback import no_way_to_reach
from notifications.context import event_department
from notifications.email_out import make_message_id
from notifications.reply_channel import customer_targets
from notifications.routing import CASELESS, ROUTES, Notice, To
from notifications.staff_chats import staff_chat_targets

log = logging.getLogger(__name__)

Target = tuple[Channel, str, Language]  # (channel, recipient, language) of one delivery

_ROLE_OF = {To.APPROVERS: Role.APPROVER, To.QUALITY: Role.QUALITY, To.SALES: Role.SALES}
# Audiences that are the members of one department, named by its code (seeded departments)
_DEPARTMENT_OF = {To.TECHNICAL_DEVELOPMENT: "technical_development", To.PRODUCTION_EQUIPMENT: "production_equipment"}


class Fanout:
    def __init__(self, signer: Signer, mail_domain: str, cap_per_day: int) -> None:
        self.signer = signer
        self.mail_domain = mail_domain
        self.cap_per_day = cap_per_day

    async def run_once(self, s: AsyncSession, now: datetime, limit: int = 100, only: int | None = None) -> int:
        """Fan out up to `limit` pending events (or only the event `only`); returns how many."""
        stmt = select(OutboxEvent).where(OutboxEvent.fanned_out_at.is_(None))
        if only is not None:
            stmt = stmt.where(OutboxEvent.id == only)
        events = list(
            (await s.execute(stmt.order_by(OutboxEvent.id).limit(limit).with_for_update(skip_locked=True))).scalars()
        )
        if not events:
            return 0
        known = await _Known.read(s, events)
        planned: list[tuple[OutboxEvent, Case | None, Notice, list[Target]]] = []
        for event in events:
            planned.extend(await self._plan(s, known, event, now))
            event.fanned_out_at = now
        # One count for every customer address of the batch; `_add` adds the batch's own mails.
        counts = await self._sent_today(
            s,
            {r for _, _, n, targets in planned if n.to is To.CUSTOMER for c, r, _ in targets if c == Channel.EMAIL},
            now,
        )
        for event, case, notice, targets in planned:
            self._add(s, event, case, notice, targets, counts, now, case is not None and case.id in known.automatic)
        return len(events)

    async def _plan(
        self,
        s: AsyncSession,
        known: _Known,
        event: OutboxEvent,
        now: datetime,
    ) -> list[tuple[OutboxEvent, Case | None, Notice, list[Target]]]:
        """The event's notices and their targets, in routing order; a customer notice with no
        way to reach the customer records its callback task here. An event about no case (a
        report falling due) reaches only the staff audiences that need no case (CASELESS)."""
        case = known.cases.get(event.case_id) if event.case_id is not None else None
        if event.case_id is not None and case is None:
            return []  # its case is gone
        planned: list[tuple[OutboxEvent, Case | None, Notice, list[Target]]] = []
        reached: set[tuple[str, str, str]] = set()  # (audience, channel, recipient) of this event
        for notice in ROUTES.get(EventKind(event.kind), ()):
            if notice.needs_auto_reply and not event.payload.get("auto_reply", True):
                continue
            if case is None and notice.to not in CASELESS:
                log.error("%s: no case, so no notice %s to %s", event.kind, notice.template, notice.to)
                continue
            # One notice per person and event: a Sales member of the case's department is in
            # both staff notices of a customer message; the first in routing order reaches them.
            found = await self._recipients(s, known, notice, case, event)
            targets = [t for t in found if (notice.audience, t[0], t[1]) not in reached]
            reached.update((notice.audience, channel, recipient) for channel, recipient, _ in targets)
            if not found and notice.to is To.CUSTOMER and case is not None:
                await no_way_to_reach(s, case, notice.template, now)  # a callback task for Sales
            if not found and case is None:  # nobody to tell, and no case to show it on
                log.warning("%s: no %s user to send %s to", event.kind, notice.to, notice.template)
            planned.append((event, case, notice, targets))
        return planned

    def _add(
        self,
        s: AsyncSession,
        event: OutboxEvent,
        case: Case | None,
        notice: Notice,
        targets: list[Target],
        counts: dict[str, int],
        now: datetime,
        opened_by_machine: bool = False,
    ) -> None:
        for channel, recipient, language in targets:
            delivery = Delivery(
                event_id=event.id,
                case_id=case.id if case is not None else None,
                audience=notice.audience,
                template=notice.template,
                channel=channel,
                recipient=recipient,
                language=language,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
                attempts=0,
            )
            if notice.to is To.CUSTOMER and channel == Channel.EMAIL and case is not None:
                delivery.message_id = event.payload.get("message_id") or make_message_id(
                    self.signer.case_token(case.reference), self.mail_domain
                )
                if opened_by_machine:
                    # RFC 3834: never answer automatic mail, whatever a person later does with the
                    # case ("no action" on a case opened by an out-of-office reply mailed it).
                    delivery.status = DeliveryStatus.SUPPRESSED
                    delivery.last_error = "the case was opened by an automatic message (RFC 3834)"
                    log.info(
                        "%s: suppressed %s to a customer: opened by automatic mail", case.reference, notice.template
                    )
                elif counts.get(recipient, 0) >= self.cap_per_day:
                    delivery.status = DeliveryStatus.SUPPRESSED
                    delivery.last_error = f"more than {self.cap_per_day} automatic mails to this address today"
                    log.warning("%s: suppressed %s to a customer: daily cap", case.reference, notice.template)
                else:  # the batch's own mails count too (a burst from one address is one batch)
                    counts[recipient] = counts.get(recipient, 0) + 1
            s.add(delivery)

    async def _recipients(
        self,
        s: AsyncSession,
        known: _Known,
        notice: Notice,
        case: Case | None,
        event: OutboxEvent,
    ) -> list[Target]:
        if notice.to is To.CUSTOMER:
            return await customer_targets(s, case, identities=known.identities) if case is not None else []
        department_id = event_department(event, case) if case is not None else None
        key = (notice.to, department_id if notice.to is To.DEPARTMENT else None)
        users = known.staff.get(key)
        if users is None:
            users = known.staff[key] = await self._staff(s, notice.to, department_id)
        chats = known.chats.get((notice.template, key))
        if chats is None:
            chats = known.chats[(notice.template, key)] = await staff_chat_targets(s, notice.template, users)
        return [(Channel.EMAIL, u.email, u.language) for u in users if u.email] + list(
            chats
        )  # Telegram push, besides the email

    async def _staff(self, s: AsyncSession, to: To, department_id: int | None) -> list[User]:
        stmt = select(User).where(User.active.is_(True))
        if to in _DEPARTMENT_OF:
            stmt = stmt.join(Department, Department.id == User.department_id).where(
                Department.code == _DEPARTMENT_OF[to]
            )
        elif to is To.DEPARTMENT and department_id is not None:
            stmt = stmt.where(User.department_id == department_id)
        else:
            role = _ROLE_OF.get(to, Role.APPROVER)  # no department yet: the approvers hear of it
            stmt = stmt.join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role)
        return list((await s.execute(stmt.order_by(User.id))).scalars().unique())

    async def _sent_today(self, s: AsyncSession, recipients: set[str], now: datetime) -> dict[str, int]:
        """Automatic mails per recipient in the last day, for the cap (FreeScout users saw
        8,000-mail loops)."""
        if not recipients:
            return {}
        rows = await s.execute(
            select(Delivery.recipient, func.count(Delivery.id))
            .where(
                Delivery.recipient.in_(sorted(recipients)),
                Delivery.audience == "customer",
                Delivery.created_at >= now - timedelta(days=1),
                Delivery.status != DeliveryStatus.SUPPRESSED,
            )
            .group_by(Delivery.recipient)
        )
        return {recipient: count for recipient, count in rows}


@dataclass(slots=True)
class _Known:
    """What one fan-out batch reads once: its cases (and their contacts, so that
    ``session.get`` finds them without a query), the contacts' active identities, and the staff
    and staff chats of each audience, asked for at most once per batch."""

    cases: dict[int, Case]
    identities: dict[tuple[int, Channel], list[str]]
    automatic: set[int] = field(default_factory=set)  # cases whose first inbound message was automatic
    staff: dict[tuple[To, int | None], list[User]] = field(default_factory=dict)
    chats: dict[tuple[str, tuple[To, int | None]], list[Target]] = field(default_factory=dict)

    @classmethod
    async def read(cls, s: AsyncSession, events: list[OutboxEvent]) -> _Known:
        cases = await by_id(s, Case, (e.case_id for e in events))
        contact_ids = sorted({c.contact_id for c in cases.values()})
        identities: dict[tuple[int, Channel], list[str]] = {}
        if contact_ids:
            await by_id(s, Contact, contact_ids)  # now in the session: customer_targets finds them
            for contact_id, kind, value in await s.execute(
                select(Identity.contact_id, Identity.kind, Identity.value)
                .where(Identity.contact_id.in_(contact_ids), Identity.active.is_(True), Identity.bounced_at.is_(None))
                .order_by(Identity.id)
            ):
                identities.setdefault((contact_id, kind), []).append(value)
        return cls(cases, identities, await _opened_by_machine(s, sorted(cases)))


async def _opened_by_machine(s: AsyncSession, case_ids: list[int]) -> set[int]:
    """The cases whose first inbound message was automatic (an auto-reply, a bounce)."""
    if not case_ids:
        return set()
    m = CaseMessage
    first = select(func.min(m.id)).where(m.case_id.in_(case_ids), m.direction == Direction.IN).group_by(m.case_id)
    found = await s.execute(select(m.case_id).where(m.id.in_(first), m.is_automatic.is_(True)))
    return set(found.scalars())


def department_label(dept: Department | None, language: str) -> str:
    if dept is None:
        return ""
    return dept.name_en if language == "en" else dept.name_zh


def payload_text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value)
