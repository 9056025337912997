"""Staff-logged entries: a phone call, letter, visit or survey answer becomes a case the same
way a mail does (an IntakeMessage through CaseService.receive), with what staff know on top.

Intake rules, "Staff-logged entries": the time staff give is the case's received time; the
form token makes a double submit one case (the unique `staff_entries.form_token`, answered
with the case the first submit opened); phone numbers are normalised to E.164 for matching.
The staff member is recorded in the case's history.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import lookup as archive
from cases.archive.admin import attach_identity, channel_of, language_of
from cases.archive.phones import normalise_number
from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import CaseType, Channel
from cases.domain.errors import Conflict, InvalidInput
from cases.domain.intake_message import Attachment, IntakeMessage
from cases.domain.uploads import MAX_ATTACHMENT_BYTES
from cases.field.records import feed_case
from cases.services.case_service import CaseService
from cases.services.records import record_history
from cases.store.db import Database
from cases.store.models import Contact, Customer, StaffEntry
from cases.store.models.base import BIGID_MAX

log = logging.getLogger(__name__)

ENTRY_KINDS = (Channel.PHONE, Channel.LETTER, Channel.VISIT, Channel.SURVEY)
FUTURE_TOLERANCE = timedelta(minutes=10)  # clocks differ; a call "tomorrow" is a typo


@dataclass(frozen=True, slots=True)
class EntryInput:
    kind: Channel
    at: datetime  # aware
    subject: str = ""
    description: str = ""
    customer: str | int | None = None  # id, code or name
    contact_id: int | None = None  # the contact staff picked (else by number, then by name)
    caller_number: str | None = None
    caller_name: str = ""
    caller_email: str | None = None
    type: str | None = None
    part_number: str | None = None
    batch: str | None = None
    quantity: int | None = None
    reply_channel: str | None = None
    language: str | None = None
    form_token: str | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class EntryResult:
    reference: str
    created: bool  # False: the form token was used before; this is that case
    customer_id: int
    contact_id: int


class EntryService:
    def __init__(self, db: Database, service: CaseService, clock: Clock) -> None:
        self.db = db
        self.service = service
        self.clock = clock

    async def log_entry(self, actor: Actor, entry: EntryInput) -> EntryResult:
        _check(entry, self.clock())
        token = (entry.form_token or "").strip() or f"auto-{uuid.uuid4().hex}"
        if len(token) > 120:
            raise InvalidInput("the form token is longer than 120 characters", zh="表单令牌超过 120 个字符")
        try:
            async with self.db.unit_of_work() as s:
                if (done := await _by_token(s, token)) is not None:
                    return done
                result = await self._open(s, actor, entry, token)
        except IntegrityError:
            # The same token committed by a concurrent submit: answer with its case.
            async with self.db.reader() as s:
                done = await _by_token(s, token)
            if done is None:
                raise
            return done
        self.service.committed()
        return result

    async def _open(self, s: AsyncSession, actor: Actor, entry: EntryInput, token: str) -> EntryResult:
        now = self.clock()
        customer = await _customer(s, entry.customer, now)
        contact = await self._contact(s, customer, entry, now)
        number = normalise_number(entry.caller_number) if entry.caller_number else None
        text = entry.description.strip() or entry.subject.strip()
        msg = IntakeMessage(
            channel=entry.kind,
            source_id=token,
            sender_identity=number or contact.name,
            sender_name=contact.name,
            subject=entry.subject.strip()[:500],
            text=text,
            new_text=text,
            received_at=entry.at,
            language=language_of(entry.language or contact.language),
            attachments=entry.attachments,
            contact_id=contact.id,
        )
        outcome = await self.service.receive(s, msg)
        case = outcome.case
        # What staff wrote down beats the guesses of cases/domain/classify.py.
        if entry.type:
            case.type = _case_type(entry.type)
        case.part_number = (entry.part_number or "").strip()[:80] or case.part_number
        case.batch = (entry.batch or "").strip()[:80] or case.batch
        case.quantity = entry.quantity if entry.quantity is not None else case.quantity
        if entry.reply_channel:
            case.reply_channel = channel_of(entry.reply_channel, "reply channel")
        await feed_case(s, case, self.service.settings.tz, now)  # what staff wrote beats the guesses
        local = entry.at.astimezone(self.service.settings.tz).strftime("%Y-%m-%d %H:%M")
        record_history(
            s, case=case, at=now, actor=actor, action="logged", note=f"{entry.kind} at {local} logged by {actor.label}"
        )
        # The case has its id (receive flushed); the flush below checks the token's unique key.
        s.add(
            StaffEntry(
                form_token=token,
                kind=entry.kind,
                case_id=case.id,
                user_id=actor.user_id,
                actor=actor.label,
                at=entry.at,
                created_at=now,
            )
        )
        await s.flush()
        log.info("%s: %s logged by %s", case.reference, entry.kind, actor.label)
        return EntryResult(case.reference, True, case.customer_id, contact.id)

    async def _contact(self, s: AsyncSession, customer: Customer | None, entry: EntryInput, now: datetime) -> Contact:
        """The caller: by number first, then by name within the customer, else a new contact."""
        number = normalise_number(entry.caller_number) if entry.caller_number else None
        contact: Contact | None = None
        if entry.contact_id is not None:
            contact = await s.get(Contact, entry.contact_id)
            if contact is None:
                raise InvalidInput(f"there is no contact #{entry.contact_id}", zh=f"联系人 #{entry.contact_id} 不存在")
            if customer is not None and contact.customer_id != customer.id:
                raise Conflict(
                    f"contact #{contact.id} belongs to customer #{contact.customer_id}, not #{customer.id}",
                    zh=f"联系人 #{contact.id} 属于客户 #{contact.customer_id}，而不是 #{customer.id}",
                )
        elif number:
            contact = await archive.find_contact(s, Channel.PHONE, number) or await archive.find_contact(
                s, Channel.FAX, number
            )
        if contact is not None and customer is not None and contact.customer_id != customer.id:
            if not await _is_unassigned(s, contact.customer_id):
                raise Conflict(
                    f"the number {number} belongs to a contact of customer #{contact.customer_id}; "
                    "give that customer, or merge the two customers",
                    zh=f"号码 {number} 属于客户 #{contact.customer_id} 的联系人；请填写该客户，或合并这两个客户",
                )
            log.info("contact #%d moves from the unassigned pool to customer #%d", contact.id, customer.id)
            contact.customer_id = customer.id
        name = entry.caller_name.strip()
        if contact is None and customer is not None and name:
            contact = (
                await s.execute(
                    select(Contact)
                    .where(Contact.customer_id == customer.id, Contact.name == name)
                    .order_by(Contact.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if contact is None:
            customer_id = customer.id if customer else await archive.unassigned_customer_id(s, now)
            contact = Contact(
                customer_id=customer_id,
                name=(name or number or "(unknown)")[:200],
                language=language_of(entry.language),
                preferred_channel=Channel.PHONE if number else Channel.LETTER,
                created_at=now,
            )
            s.add(contact)
            await s.flush()
        if number:
            await attach_identity(s, contact, Channel.PHONE, number, now)
        if entry.caller_email:
            await attach_identity(s, contact, Channel.EMAIL, entry.caller_email, now)
        return contact


def _check(entry: EntryInput, now: datetime) -> None:
    if entry.kind not in ENTRY_KINDS:
        raise InvalidInput(
            f"unknown entry kind {entry.kind!r}; one of: {', '.join(k.value for k in ENTRY_KINDS)}",
            zh=f"未知的登记类型 {entry.kind!r}；可选：{', '.join(k.value for k in ENTRY_KINDS)}",
        )
    if entry.at.tzinfo is None:
        raise InvalidInput("the time of the entry needs a time zone", zh="登记时间须带时区")
    if entry.at > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            f"the time of the {entry.kind.value} ({entry.at.isoformat()}) is in the future",
            zh=f"{entry.kind.value} 的时间（{entry.at.isoformat()}）晚于当前时间",
        )
    if not (entry.subject.strip() or entry.description.strip()):
        raise InvalidInput(
            "give a subject or a description of what the customer said", zh="请填写主题，或描述客户反映的内容"
        )
    if entry.quantity is not None and entry.quantity < 0:
        raise InvalidInput("the quantity must not be negative", zh="数量不能为负数")
    for att in entry.attachments:
        if len(att.data) > MAX_ATTACHMENT_BYTES:
            raise InvalidInput(
                f"the attachment {att.filename} is larger than {MAX_ATTACHMENT_BYTES} bytes",
                zh=f"附件 {att.filename} 超过 {MAX_ATTACHMENT_BYTES} 字节",
            )


def _case_type(value: str) -> CaseType:
    try:
        return CaseType(value)
    except ValueError:
        raise InvalidInput(
            f"unknown case type {value!r}; one of: {', '.join(CaseType)}",
            zh=f"未知的案件类型 {value!r}；可选：{', '.join(CaseType)}",
        ) from None


async def _by_token(s: AsyncSession, token: str) -> EntryResult | None:
    from cases.store.models import Case

    row = (
        await s.execute(
            select(Case.reference, Case.customer_id, Case.contact_id)
            .join(StaffEntry, StaffEntry.case_id == Case.id)
            .where(StaffEntry.form_token == token)
        )
    ).first()
    return None if row is None else EntryResult(row[0], False, row[1], row[2])


async def _is_unassigned(s: AsyncSession, customer_id: int) -> bool:
    return bool((await s.execute(select(Customer.is_unassigned).where(Customer.id == customer_id))).scalar())


async def _customer(s: AsyncSession, ref: str | int | None, now: datetime) -> Customer | None:
    """By id, code or exact name; a name nobody has yet makes a new customer (merge fixes typos)."""
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        return None
    # ASCII digits only: "²".isdigit() is true, and int() refuses it
    if isinstance(ref, int) or (ref.strip().isascii() and ref.strip().isdigit()):
        # a text of digits is an id; one no id can be ("0", 2^63) must not reach the database
        found = await s.get(Customer, int(ref)) if 1 <= int(ref) <= BIGID_MAX else None
        if found is None:
            raise InvalidInput(f"there is no customer #{ref}", zh=f"客户 #{ref} 不存在")
        return found
    text = ref.strip()
    found = (await s.execute(select(Customer).where(func.upper(Customer.code) == text.upper()))).scalar_one_or_none()
    if found is not None:
        return found
    named = list((await s.execute(select(Customer).where(Customer.name == text).limit(2))).scalars())
    if len(named) > 1:
        raise InvalidInput(
            f"several customers are named {text!r}; give the id or code",
            zh=f"有多个客户名为 {text!r}；请填写客户编号或代码",
        )
    if named:
        return named[0]
    customer = Customer(name=text[:200], created_at=now)
    s.add(customer)
    await s.flush()
    log.info("customer #%d created by a logged entry", customer.id)
    return customer
