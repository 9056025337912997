"""The customer archive (客户档案): find the contact behind an identity, or make one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.enums import Channel
from cases.models import Contact, Customer, Identity

UNASSIGNED_CODE = "UNASSIGNED"


async def unassigned_customer_id(session: AsyncSession, now: datetime) -> int:
    found = (
        await session.execute(select(Customer.id).where(Customer.code == UNASSIGNED_CODE))
    ).scalar_one_or_none()
    if found is not None:
        return found
    customer = Customer(
        name="未分配客户 / Unassigned", code=UNASSIGNED_CODE, is_unassigned=True, created_at=now
    )
    session.add(customer)
    await session.flush()
    return customer.id


async def find_contact(session: AsyncSession, kind: Channel, value: str) -> Contact | None:
    stmt = (
        select(Contact)
        .join(Identity, Identity.contact_id == Contact.id)
        .where(Identity.kind == kind.value, Identity.value == value)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def contact_for(
    session: AsyncSession, kind: Channel, value: str, name: str, language: str, now: datetime,
) -> tuple[Contact, bool]:
    """The contact with this identity; unknown senders become contacts of the unassigned customer.

    New contacts are not flushed here (a batch is flushed once); ``session.info`` remembers
    them so that a second mail of the same new sender in the batch finds the same contact."""
    pending: dict[tuple[str, str], Contact] = session.info.setdefault("kefu_new_contacts", {})
    contact = pending.get((kind.value, value)) or await find_contact(session, kind, value)
    if contact is not None:
        return contact, False
    if "kefu_unassigned" not in session.info:
        session.info["kefu_unassigned"] = await unassigned_customer_id(session, now)
    contact = Contact(
        customer_id=session.info["kefu_unassigned"], name=name or value, language=language,
        preferred_channel=kind.value, created_at=now,
    )
    session.add(contact)
    session.add(Identity(contact=contact, kind=kind.value, value=value, created_at=now))
    pending[(kind.value, value)] = contact
    return contact, True


async def identities_of(session: AsyncSession, contact_id: int, kind: Channel) -> list[str]:
    stmt = select(Identity.value).where(
        Identity.contact_id == contact_id, Identity.kind == kind.value, Identity.active.is_(True)
    ).order_by(Identity.id)
    return list((await session.execute(stmt)).scalars())
