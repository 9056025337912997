"""Customer input becomes a case, or joins the conversation of the case it belongs to.

Threading order (intake rules): a Message-ID we sent or received on the case, then our signed
reply-address token, then a `[FB-2026-000123]` subject tag, which counts only from a sender of
that case's customer; a tag from anyone else opens a new case linked to the old one
(Zammad #5064). Then who is speaking (cases/services/speakers.py): staff write internal notes,
a third party's message joins the case flagged, and only the customer's answer to our
satisfaction request is read as a rating.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import lookup as archive
from cases.domain import classify
from cases.domain.actors import Actor, customer
from cases.domain.enums import CaseState, Direction, Language, Satisfaction, Speaker
from cases.domain.events import EventKind
from cases.domain.filetypes import sniff
from cases.domain.intake_message import IntakeMessage
from cases.domain.states import TERMINAL, Action
from cases.domain.tokens import Signer
from cases.quality.confirmation import answer_to_report
from cases.services import ratings
from cases.services.records import Numbering, apply_step, emit, record_history
from cases.services.satisfaction import SatisfactionAnswer, parse_satisfaction
from cases.services.speakers import customer_side, is_unassigned, staff_sender
from cases.services.staff_replies import (
    HOW_TO,
    StaffStep,
    answered_notice,
    looks_like_step,
    notice_recipient,
    read_step,
)
from cases.services.threads import Threads, batch_messages
from cases.store import rows
from cases.store.models import Attachment, Blob, Case, CaseMessage, Contact, Department, User
from cases.store.models.base import clip

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case  # a new case is queued until the flush (the processor flushes a whole batch)
    opened: bool  # a new case, or a message on an existing one
    how: str  # "new", "message_id", "address_token", "subject_tag", "linked", "same_message_id"
    rating: str | None = None
    speaker: Speaker = Speaker.CUSTOMER
    # A staff reply to a notice that states a step, for CaseService to take as that person.
    staff_step: StaffStep | None = None
    staff_id: int | None = None

    @property
    def reference(self) -> str:
        """A new case has its reference from the flush on (records.Numbering)."""
        return self.case.reference


class Receiver:
    def __init__(self, signer: Signer, prefix: str, tz: ZoneInfo, reopen_days: float = 30.0) -> None:
        self.signer = signer
        self.threads = Threads(signer)
        self.prefix = prefix
        self.tz = tz
        # A customer writing to a case closed longer ago than this opens a new, linked case.
        self.reopen_within = timedelta(days=reopen_days)

    async def receive(
        self, session: AsyncSession, msg: IntakeMessage, now: datetime, inbound_id: int | None = None
    ) -> Outcome:
        forwarded_by: int | None = None
        if (original := await self._forwarded_by_staff(session, msg)) is not None:
            forwarded_by, msg = original
        case, how = await self.threads.find(session, msg)
        if (
            forwarded_by is None
            and case is not None
            and msg.contact_id is None
            and (staff_id := await staff_sender(session, msg) or await notice_recipient(session, self.signer, msg))
            is not None
        ):
            # (a) staff: an internal note by that person; no contact is made for them.
            await self._add_staff_note(session, case, msg, staff_id, now, inbound_id)
            step = await self._staff_step(session, case, msg, staff_id, now)
            return Outcome(case, False, how, speaker=Speaker.STAFF, staff_step=step, staff_id=staff_id)
        contact = await session.get(Contact, msg.contact_id) if msg.contact_id is not None else None
        if contact is None:
            contact, _ = await archive.contact_for(
                session, msg.channel, msg.sender_identity, msg.sender_name, msg.language, now
            )
        linked_to: Case | None = None
        if (
            case is not None
            and how == "subject_tag"
            and (
                case.customer_id != contact.customer_id
                # The unassigned pool is not one customer: there the tag must come from the contact itself.
                or (
                    (contact.id is None or case.contact_id != contact.id)
                    and await is_unassigned(session, case.customer_id)
                )
            )
        ):
            linked_to, case, how = case, None, "linked"
        if case is not None and how == "same_message_id":
            await self._add_message(session, case, msg, now, inbound_id, duplicate=True)
            self._possible_duplicate(session, case, msg, now)
            return Outcome(case, False, how)
        # Staff log entries for the customer they name: that is the customer speaking.
        speaker = (
            Speaker.CUSTOMER
            if case is None or msg.contact_id is not None
            else await customer_side(session, case, contact)
        )
        why = ""
        if case is not None and speaker is Speaker.CUSTOMER and (later := self._after_closing(case, msg, now)):
            linked_to, case, how, why = case, None, "linked", later
            # The people of the old case hear of it too; the old case itself stays as it was.
            actor = customer(msg.sender_identity)
            note = f"{later}: a new case linked to it was opened"
            record_history(
                session, case=linked_to, at=now, actor=actor, action="customer_wrote_after_closing", note=note
            )
            emit(session, EventKind.CUSTOMER_MESSAGE, linked_to, now, text=msg.new_text[:2000], automatic=False)
        if forwarded_by is not None:
            why = why or "forwarded by staff"
        if case is None:
            case = await self._open(session, msg, contact, now, linked_to, why)
            await self._add_message(session, case, msg, now, inbound_id)
            await self._note_forward(session, case, forwarded_by, msg, now)
            return Outcome(case, True, "new" if linked_to is None else "linked")
        await self._note_forward(session, case, forwarded_by, msg, now)
        await self._add_message(session, case, msg, now, inbound_id, speaker)
        if speaker is Speaker.THIRD_PARTY:
            self._third_party(session, case, msg, now)
            return Outcome(case, False, how, speaker=speaker)
        # A reply to a service report's own confirmation request answers the report, not the case.
        if (on_report := await answer_to_report(session, case, msg, now, self.signer)) is not None:
            return Outcome(case, False, how, on_report)
        rating = await self._follow_up(session, case, msg, now)
        return Outcome(case, False, how, rating)

    async def _forwarded_by_staff(self, session: AsyncSession, msg: IntakeMessage) -> tuple[int, IntakeMessage] | None:
        """Staff forwarded a customer's mail to the service address: the original sender is the
        one speaking (and the contact), the forwarded subject the case's."""
        fwd = msg.forwarded
        if fwd is None or not fwd.sender or msg.contact_id is not None:
            return None
        staff_id = await staff_sender(session, msg)
        if staff_id is None or await staff_sender(session, replace(msg, sender_identity=fwd.sender)) is not None:
            return None
        subject = fwd.subject or msg.subject
        original = replace(
            msg,
            sender_identity=fwd.sender,
            sender_name=fwd.sender_name or fwd.sender,
            subject=subject,
            new_text=fwd.text or msg.new_text,
        )
        return staff_id, original

    async def _note_forward(
        self, session: AsyncSession, case: Case, staff_id: int | None, msg: IntakeMessage, now: datetime
    ) -> None:
        if staff_id is None:
            return
        user = await session.get(User, staff_id)
        actor = Actor(label=user.username if user else f"staff:{staff_id}", roles=frozenset(), user_id=staff_id)
        note = f"forwarded the mail of {msg.sender_identity}"
        record_history(session, case=case, at=now, actor=actor, action="forwarded_by_staff", note=note)

    def _after_closing(self, case: Case, msg: IntakeMessage, now: datetime) -> str:
        """Why the customer's message on a finished case opens a new case linked to it ("" when
        it joins the case): the case was decided 不做处理, or closed longer ago than the
        KEFU_CLOSED_CASE_REOPEN_DAYS setting. Automatic mail and a bare thanks always join."""
        if case.state not in TERMINAL or msg.is_automatic:
            return ""
        answer = parse_satisfaction(msg.new_text or msg.text)
        if answer.courtesy:
            return ""
        if case.state is CaseState.NO_ACTION:
            return f"the customer wrote again after {case.reference} was decided no action"
        closed_at = case.closed_at or case.updated_at
        if now - closed_at > self.reopen_within:
            days = (now - closed_at).days
            return f"the customer wrote {days} days after {case.reference} closed"
        return ""

    async def _open(
        self,
        session: AsyncSession,
        msg: IntakeMessage,
        contact: Contact,
        now: datetime,
        linked_to: Case | None,
        why: str = "",
    ) -> Case:
        g = classify.guess(msg.subject, msg.text)
        year = msg.received_at.astimezone(self.tz).year
        language = Language.EN if Language.EN in (msg.language, contact.language) else Language.ZH
        case = Case(
            type=g.type,
            channel=msg.channel,
            state=CaseState.NEW,
            customer_id=contact.customer_id,
            contact=contact,
            subject=(msg.subject or msg.new_text[:80] or "(no subject)")[:500],
            description=msg.text,
            part_number=g.part_number,
            batch=g.batch,
            quantity=g.quantity,
            vehicle=g.vehicle,
            severity=g.severity,
            reply_channel=contact.preferred_channel,
            language=language,
            received_at=msg.received_at,
            created_at=now,
            updated_at=now,
            linked_case_id=linked_to.id if linked_to else None,
        )
        # Inserted with the batch's other new cases at the flush, and numbered then.
        rows.add_new(session, case, before_insert=Numbering(self.prefix, year))
        actor = customer(msg.sender_identity)
        note = f"linked to {linked_to.reference}: {why or 'subject tag from another customer'}" if linked_to else ""
        record_history(session, case=case, at=now, actor=actor, action="opened", to_state=case.state, note=note)
        emit(session, EventKind.CASE_OPENED, case, now, auto_reply=msg.auto_reply_allowed)
        return case

    async def _add_message(
        self,
        session: AsyncSession,
        case: Case,
        msg: IntakeMessage,
        now: datetime,
        inbound_id: int | None,
        speaker: Speaker = Speaker.CUSTOMER,
        author_user_id: int | None = None,
        duplicate: bool = False,
    ) -> None:
        message = rows.append(
            session,
            CaseMessage,
            dict(
                direction=Direction.NOTE if speaker is Speaker.STAFF else Direction.IN,
                speaker=speaker,
                author_user_id=author_user_id,
                channel=msg.channel,
                message_id=msg.message_id,
                inbound_id=inbound_id,
                sender=msg.sender_identity,
                subject=msg.subject[:500],
                body=msg.text,
                new_text=msg.new_text,
                html=msg.html,
                is_automatic=msg.is_automatic,
                possible_duplicate=duplicate,
                forwarded=_forwarded_row(msg),
                created_at=msg.received_at,
            ),
            case_id=case,
        )
        if msg.message_id:
            batch_messages(session)[msg.message_id] = case
        if msg.attachments:
            await store_attachments(session, message, msg.attachments)

    async def _add_staff_note(
        self,
        session: AsyncSession,
        case: Case,
        msg: IntakeMessage,
        user_id: int | None,
        now: datetime,
        inbound_id: int | None,
    ) -> None:
        """A staff member's mail on a case (an answer to an approval request, say): kept as their
        internal note, never sent to the customer. It is also a workflow step only when it
        answers a notice signed for that very address (`_staff_step`)."""
        user = await session.get(User, user_id) if user_id is not None else None
        label = user.username if user is not None else f"staff:{msg.sender_identity}"
        await self._add_message(session, case, msg, now, inbound_id, Speaker.STAFF, user_id)
        actor = Actor(label=label, roles=frozenset(), user_id=user_id)
        note = (msg.new_text or msg.text)[:500]
        record_history(session, case=case, at=now, actor=actor, action="staff_mail_note", note=note)

    def _possible_duplicate(self, session: AsyncSession, case: Case, msg: IntakeMessage, now: datetime) -> None:
        """Shown in the conversation for a person to judge; it rates, reopens and closes nothing."""
        case.updated_at = now
        actor = customer(msg.sender_identity)
        note = f"same Message-ID as an earlier message, other content: {msg.message_id}"
        record_history(session, case=case, at=now, actor=actor, action="possible_duplicate", note=note[:500])
        if not msg.is_automatic:
            emit(session, EventKind.CUSTOMER_MESSAGE, case, now, text=msg.new_text[:2000], automatic=False)

    async def _staff_step(
        self, session: AsyncSession, case: Case, msg: IntakeMessage, staff_id: int, now: datetime
    ) -> StaffStep | None:
        """The step the reply states, when it answers a notice sent to this very address
        (cases/services/staff_replies.py); else None, and the history says how to take it."""
        text = msg.new_text or msg.text
        departments = list(
            (await session.execute(select(Department).where(Department.active).order_by(Department.id))).scalars()
        )
        step = read_step(text, departments)
        if step is not None and answered_notice(self.signer, msg) == case.reference:
            return step
        if step is not None or looks_like_step(text):
            user = await session.get(User, staff_id)
            actor = Actor(label=user.username if user else f"staff:{staff_id}", roles=frozenset(), user_id=staff_id)
            why = "no step was taken: " + HOW_TO.replace("{reference}", case.reference)
            record_history(session, case=case, at=now, actor=actor, action="staff_step_not_taken", note=why)
        return None

    def _third_party(self, session: AsyncSession, case: Case, msg: IntakeMessage, now: datetime) -> None:
        """Someone who is neither the customer nor staff wrote on the case: it joins, and the
        people on the case hear of it; it is never read as a rating or a reason to reopen."""
        case.updated_at = now
        actor = Actor(label=f"third party:{msg.sender_identity}", roles=frozenset())
        record_history(session, case=case, at=now, actor=actor, action="third_party_message")
        if not msg.is_automatic:
            emit(
                session,
                EventKind.CUSTOMER_MESSAGE,
                case,
                now,
                text=msg.new_text[:2000],
                automatic=False,
                third_party=msg.sender_identity,
            )

    async def _follow_up(self, session: AsyncSession, case: Case, msg: IntakeMessage, now: datetime) -> str | None:
        actor = customer(msg.sender_identity)
        state = case.state
        if state is CaseState.AWAITING_SATISFACTION and not msg.is_automatic:
            answer = parse_satisfaction(msg.new_text or msg.text)
            if answer.rating is not None and not answer.ambiguous:
                return _rate(session, case, answer, actor, now, msg)
            record_history(
                session, case=case, at=now, actor=actor, action="rating_unclear", note=(msg.new_text or msg.text)[:500]
            )
            emit(session, EventKind.RATING_UNCLEAR, case, now, text=msg.new_text[:2000])
            return None
        if state in TERMINAL and not msg.is_automatic:
            return self._on_closed(session, case, msg, now, actor)
        case.updated_at = now
        record_history(
            session,
            case=case,
            at=now,
            actor=actor,
            action="customer_message",
            note="automatic reply" if msg.is_automatic else "",
        )
        if not msg.is_automatic or state not in TERMINAL:
            emit(session, EventKind.CUSTOMER_MESSAGE, case, now, text=msg.new_text[:2000], automatic=msg.is_automatic)
        return None

    def _on_closed(
        self, session: AsyncSession, case: Case, msg: IntakeMessage, now: datetime, actor: Actor
    ) -> str | None:
        """The customer wrote to a case closed recently (_after_closing sent the rest to a new
        case): a bare thanks, or 满意 / 一般, joins it; 不满意 (kept as a rating) or anything
        else reopens it for the department and Sales."""
        text = msg.new_text or msg.text
        answer = parse_satisfaction(text)
        if (
            answer.courtesy
            or case.state is not CaseState.CLOSED  # 不做处理: only a thanks comes this far
            or (answer.rating in (Satisfaction.SATISFIED, Satisfaction.NEUTRAL) and not answer.ambiguous)
        ):
            record_history(
                session, case=case, at=now, actor=actor, action="customer_message", note="closed case: joined"
            )
            return None
        if answer.rating is Satisfaction.UNSATISFIED and not answer.ambiguous:
            return _rate(session, case, answer, actor, now, msg)
        apply_step(
            session,
            case,
            Action.REOPEN,
            actor,
            now,
            {
                "satisfaction_requested_at": None,
                "reminder_sent_at": None,
                "closed_at": None,
                "reopen_count": case.reopen_count + 1,
            },
            note="the customer wrote after closing",
        )
        emit(session, EventKind.CASE_REOPENED, case, now, why="message", text=msg.new_text[:2000])
        return None

    async def thread_of(self, session: AsyncSession, msg: IntakeMessage) -> tuple[Case | None, str]:
        """The case `receive` would thread msg to, and how; writes nothing (cases/services/holds.py)."""
        return await self.threads.find(session, msg)


def _forwarded_row(msg: IntakeMessage) -> dict[str, str] | None:
    fwd = msg.forwarded
    if fwd is None:
        return None
    return {"sender": fwd.sender, "sender_name": fwd.sender_name, "subject": fwd.subject, "text": fwd.text}


async def store_attachments(session: AsyncSession, message: CaseMessage | rows.Row, attachments: tuple) -> None:  # type: ignore[type-arg]
    """Attachments of a message (stored or queued in this unit of work); the bytes once per hash."""
    for att in attachments:
        digest = hashlib.sha256(att.data).hexdigest()
        rows.append(session, Blob, {"sha256": digest, "size": len(att.data), "data": att.data})
        rows.append(
            session,
            Attachment,
            dict(
                filename=att.filename,
                content_type=clip(Attachment.content_type, att.content_type),
                sniffed_type=sniff(att.data),
                size=len(att.data),
                sha256=digest,
            ),
            message_id=message,
        )


def _rate(
    session: AsyncSession, case: Case, answer: SatisfactionAnswer, actor: Actor, now: datetime, msg: IntakeMessage
) -> str:
    """Keep the rating the customer's message gave (`answer` holds one, unambiguous)."""
    assert answer.rating is not None
    ratings.rate(
        session,
        case,
        answer.rating,
        answer.score,
        actor,
        now,
        channel=msg.channel,
        by_staff=False,
        matched=answer.matched,
        text=msg.new_text,
    )
    return answer.rating.value
