"""Staff keep the customer archive (客户档案): customers, contacts, their identities on every
channel, the reply channel each contact asked for, and reversible merges.

One customer across channels: a contact has identities of kind email, phone, fax, telegram
(numbers stored as E.164), so a case from any channel lands with the same contact and customer.
A merge of two contacts or two customers moves identities, contacts and cases and records
exactly what it moved (`archive_merges.moved`), so that undoing it moves the same rows back.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import merges
from cases.archive.merges import MergeResult
from cases.archive.phones import normalise_identity
from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import Channel, Language
from cases.domain.errors import Conflict, InvalidInput, NotFound
from cases.domain.states import TERMINAL
from cases.services.records import record_history
from cases.store.db import Database
from cases.store.models import Case, Contact, Customer, Identity

log = logging.getLogger(__name__)

IDENTITY_KINDS = (Channel.EMAIL, Channel.PHONE, Channel.FAX, Channel.TELEGRAM)
MERGE_KINDS = ("contact", "customer")


class IdentityTaken(Conflict):
    """The number or address is another contact's."""

    def __init__(self, message: str, contact_id: int, *, zh: str) -> None:
        super().__init__(message, zh=zh)
        self.contact_id = contact_id


def channel_of(value: str, what: str, allowed: tuple[Channel, ...] = tuple(Channel)) -> Channel:
    try:
        channel = Channel(value)
    except ValueError:
        channel = None
    if channel is None or channel not in allowed:
        raise InvalidInput(
            f"unknown {what} {value!r}; one of: {', '.join(c.value for c in allowed)}",
            zh=f"未知的 {what} {value!r}；可选：{', '.join(c.value for c in allowed)}",
        )
    return channel


def language_of(value: str | None) -> Language:
    if value in (None, ""):
        return Language.ZH
    try:
        return Language(value)
    except ValueError:
        raise InvalidInput(
            f"unknown language {value!r}; one of: zh, en", zh=f"未知的语言 {value!r}；可选：zh、en"
        ) from None


async def attach_identity(s: AsyncSession, contact: Contact, kind: Channel, value: str, now: datetime) -> Identity:
    """The identity on this contact (idempotent); Conflict when another contact has it."""
    value = normalise_identity(kind, value)
    found = (
        await s.execute(select(Identity).where(Identity.kind == kind, Identity.value == value))
    ).scalar_one_or_none()
    if found is not None:
        if found.contact_id != contact.id:
            raise IdentityTaken(
                f"the {kind} {value} belongs to contact #{found.contact_id}; merge the two contacts instead",
                found.contact_id,
                zh=f"{kind} {value} 已属于联系人 #{found.contact_id}；请改为合并这两个联系人",
            )
        found.active = True
        return found
    identity = Identity(contact_id=contact.id, kind=kind, value=value, created_at=now)
    s.add(identity)
    return identity


class ArchiveService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- customers and contacts ----------------------------------------------------------------
    async def create_customer(self, name: str, code: str | None = None, language: str | None = None) -> int:
        name = (name or "").strip()
        if not name:
            raise InvalidInput("the customer name must not be empty", zh="客户名称不能为空")
        code = (code or "").strip().upper() or None
        async with self.db.unit_of_work() as s:
            if code and (await s.execute(select(Customer.id).where(Customer.code == code))).first():
                raise Conflict(f"there is already a customer with the code {code}", zh=f"已存在代码为 {code} 的客户")
            customer = Customer(name=name[:200], code=code, language=language_of(language), created_at=self.clock())
            s.add(customer)
            await s.flush()
            log.info("customer #%d %s created", customer.id, code or "")
            return customer.id

    async def create_contact(
        self,
        customer_id: int,
        name: str,
        language: str | None = None,
        preferred_channel: str | None = None,
        identities: list[tuple[str, str]] | None = None,
    ) -> int:
        name = (name or "").strip()
        if not name:
            raise InvalidInput("the contact name must not be empty", zh="联系人姓名不能为空")
        now = self.clock()
        async with self.db.unit_of_work() as s:
            await self._customer(s, customer_id)
            contact = Contact(
                customer_id=customer_id,
                name=name[:200],
                language=language_of(language),
                preferred_channel=channel_of(preferred_channel or "email", "reply channel"),
                created_at=now,
            )
            s.add(contact)
            await s.flush()
            for kind, value in identities or []:
                await attach_identity(s, contact, channel_of(kind, "identity kind", IDENTITY_KINDS), value, now)
            return contact.id

    async def add_identity(self, contact_id: int, kind: str, value: str) -> dict[str, Any]:
        channel = channel_of(kind, "identity kind", IDENTITY_KINDS)
        async with self.db.unit_of_work() as s:
            contact = await self._contact(s, contact_id)
            identity = await attach_identity(s, contact, channel, value, self.clock())
            await s.flush()
            return {"id": identity.id, "contact_id": contact.id, "kind": identity.kind, "value": identity.value}

    async def update_contact(
        self,
        actor: Actor,
        contact_id: int,
        *,
        name: str | None = None,
        language: str | None = None,
        preferred_channel: str | None = None,
        customer_id: int | None = None,
    ) -> MergeResult | None:
        """A new preferred reply channel also applies to the contact's open cases (recorded on each).
        A new customer moves the contact and its cases there, recorded like a merge (undoable)."""
        now = self.clock()
        moved: MergeResult | None = None
        async with self.db.unit_of_work() as s:
            contact = await self._contact(s, contact_id)
            if customer_id is not None and customer_id != contact.customer_id:
                old = contact.customer_id
                moved = await merges.record(
                    s,
                    actor,
                    "contact_move",
                    old,
                    customer_id,
                    await merges.move_contact(s, actor, contact, customer_id, now),
                    now,
                )
                log.info("contact #%d moved from customer #%d to #%d by %s", contact.id, old, customer_id, actor.label)
            if name is not None:
                if not name.strip():
                    raise InvalidInput("the contact name must not be empty", zh="联系人姓名不能为空")
                contact.name = name.strip()[:200]
            if language is not None:
                contact.language = language_of(language)
            if preferred_channel is not None:
                new = channel_of(preferred_channel, "reply channel")
                was, contact.preferred_channel = contact.preferred_channel, new
                open_cases = (
                    await s.execute(
                        select(Case).where(
                            Case.contact_id == contact.id, Case.state.not_in(TERMINAL), Case.reply_channel != new
                        )
                    )
                ).scalars()
                for case in open_cases:
                    record_history(
                        s,
                        case=case,
                        at=now,
                        actor=actor,
                        action="reply_channel",
                        changes={"reply_channel": [case.reply_channel, new]},
                        note=f"the contact now asks for {new} (was {was})",
                    )
                    case.reply_channel, case.updated_at = new, now
        return moved

    # -- reads ---------------------------------------------------------------------------------
    async def customers(self, q: str | None, limit: int = 50) -> list[dict[str, Any]]:
        async with self.db.reader() as s:
            stmt = select(Customer).order_by(Customer.id).limit(limit)
            if q:
                stmt = stmt.where(
                    Customer.name.icontains(q, autoescape=True) | Customer.code.icontains(q, autoescape=True)
                )
            return [_customer_row(c) for c in (await s.execute(stmt)).scalars()]

    async def customer(self, customer_id: int) -> dict[str, Any]:
        async with self.db.reader() as s:
            row = _customer_row(await self._customer(s, customer_id))
            contacts = list(
                (
                    await s.execute(select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.id))
                ).scalars()
            )
            ids = [c.id for c in contacts]
            identities: dict[int, list[dict[str, Any]]] = {}
            for i in (
                await s.execute(select(Identity).where(Identity.contact_id.in_(ids)).order_by(Identity.id))
            ).scalars():
                identities.setdefault(i.contact_id, []).append(
                    {"id": i.id, "kind": i.kind, "value": i.value, "active": i.active}
                )
            row["contacts"] = [
                {
                    "id": c.id,
                    "name": c.name,
                    "language": c.language,
                    "preferred_channel": c.preferred_channel,
                    "identities": identities.get(c.id, []),
                }
                for c in contacts
            ]
            row["case_count"] = (
                await s.execute(select(func.count(Case.id)).where(Case.customer_id == customer_id))
            ).scalar_one()
            return row

    # -- merges (cases/archive/merges.py) -----------------------------------------------------
    async def merge(self, actor: Actor, kind: str, source_id: int, target_id: int) -> MergeResult:
        if kind not in MERGE_KINDS:
            raise InvalidInput(
                f"unknown merge kind {kind!r}; one of: {', '.join(MERGE_KINDS)}",
                zh=f"未知的合并类型 {kind!r}；可选：{', '.join(MERGE_KINDS)}",
            )
        if source_id == target_id:
            raise InvalidInput(f"a {kind} cannot be merged into itself", zh=f"{kind} 不能合并到其自身")
        now = self.clock()
        async with self.db.unit_of_work() as s:
            do = merges.merge_contacts if kind == "contact" else merges.merge_customers
            result = await merges.record(
                s, actor, kind, source_id, target_id, await do(s, actor, source_id, target_id, now), now
            )
        log.info("merge #%d: %s #%d into #%d by %s", result.id, kind, source_id, target_id, actor.label)
        return result

    async def unmerge(self, actor: Actor, merge_id: int) -> MergeResult:
        """Move back exactly what the merge moved (rows changed since then are left alone)."""
        async with self.db.unit_of_work() as s:
            result = await merges.undo(s, actor, merge_id, self.clock())
        log.info("merge #%d undone by %s: %s", merge_id, actor.label, result.moved)
        return result

    # -- helpers -------------------------------------------------------------------------------
    async def _customer(self, s: AsyncSession, customer_id: int) -> Customer:
        customer = await s.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"there is no customer #{customer_id}", zh=f"客户 #{customer_id} 不存在")
        return customer

    async def _contact(self, s: AsyncSession, contact_id: int) -> Contact:
        contact = await s.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"there is no contact #{contact_id}", zh=f"联系人 #{contact_id} 不存在")
        return contact


def _customer_row(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "code": c.code, "language": c.language, "unassigned": c.is_unassigned}
