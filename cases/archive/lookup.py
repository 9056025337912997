"""The customer archive (客户档案): find the contact behind an identity, or make one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import Channel, Language
from cases.store import rows
from cases.store.models import Contact, Customer, Identity
from cases.store.models.base import clip

UNASSIGNED_CODE = "UNASSIGNED"


async def unassigned_customer_id(session: AsyncSession, now: datetime) -> int:
    found = (await session.execute(select(Customer.id).where(Customer.code == UNASSIGNED_CODE))).scalar_one_or_none()
    if found is not None:
        return found
    customer = Customer(name="未分配客户 / Unassigned", code=UNASSIGNED_CODE, is_unassigned=True, created_at=now)
    session.add(customer)
    await session.flush()
    return customer.id


async def find_contact(session: AsyncSession, kind: Channel, value: str) -> Contact | None:
    stmt = (
        select(Contact)
        .join(Identity, Identity.contact_id == Contact.id)
        .where(Identity.kind == kind, Identity.value == value)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


_KNOWN = "kefu_known_contacts"  # session.info: (kind, value) -> Contact, or None for "no such contact"
KNOWN_CONTACTS = _KNOWN


async def prefetch_contacts(session: AsyncSession, identities: list[tuple[Channel, str]]) -> None:
    """Look up the contacts of a whole batch of senders in one query; `contact_for` uses it."""
    known: dict[tuple[Channel, str], Contact | None] = session.info.setdefault(_KNOWN, {})
    wanted: dict[Channel, set[str]] = {}
    for kind, value in identities:
        if (kind, value) not in known:
            wanted.setdefault(kind, set()).add(value)
    for kind, values in wanted.items():
        found = (
            await session.execute(
                select(Identity.value, Contact)
                .join(Contact, Identity.contact_id == Contact.id)
                .where(Identity.kind == kind, Identity.value.in_(values))
            )
        ).all()
        by_value = {v: c for v, c in found}
        for v in values:
            known[(kind, v)] = by_value.get(v)


async def contact_for(
    session: AsyncSession,
    kind: Channel,
    value: str,
    name: str,
    language: Language,
    now: datetime,
) -> tuple[Contact, bool]:
    """The contact with this identity; unknown senders become contacts of the unassigned customer.

    New contacts are not flushed here (a batch is flushed once); ``session.info`` remembers
    them so that a second mail of the same new sender in the batch finds the same contact."""
    pending: dict[tuple[Channel, str], Contact] = session.info.setdefault("kefu_new_contacts", {})
    known: dict[tuple[Channel, str], Contact | None] = session.info.get(_KNOWN, {})
    key = (kind, value)
    contact = pending.get(key) or (known[key] if key in known else await find_contact(session, kind, value))
    if contact is not None:
        return contact, False
    if "kefu_unassigned" not in session.info:
        session.info["kefu_unassigned"] = await unassigned_customer_id(session, now)
    contact = Contact(
        customer_id=session.info["kefu_unassigned"],
        name=clip(Contact.name, name or value),
        language=language,
        preferred_channel=kind,
        created_at=now,
    )
    # Inserted with the batch's other new rows at the flush (cases/store/rows.py).
    rows.add_new(session, contact)
    rows.append(session, Identity, dict(kind=kind, value=value, created_at=now), contact_id=contact)
    pending[key] = contact
    return contact, True


async def identities_of(session: AsyncSession, contact_id: int, kind: Channel) -> list[str]:
    stmt = (
        select(Identity.value)
        .where(
            Identity.contact_id == contact_id,
            Identity.kind == kind,
            Identity.active.is_(True),
            Identity.bounced_at.is_(None),  # a permanent bounce: not reachable there
        )
        .order_by(Identity.id)
    )
    return list((await session.execute(stmt)).scalars())
