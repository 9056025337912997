"""Who is speaking: one order for every inbound message (intake rules, "who is speaking").

(a) A staff account's address, or a reply to a staff notice (its Message-ID is signed for the
    staff member it went to): staff. What they write is an internal note by that person,
    never a customer message, and makes no contact; it takes a workflow step only under the
    rules of cases/services/staff_replies.py.
(b) The case's own contact, or a contact of the case's customer when that customer is a known
    company (not the "unassigned" bucket of strangers): the customer.
(c) Anyone else: a third party. The message joins the case, flagged for staff; it rates,
    reopens and closes nothing, whatever threaded it (a Message-ID, our reply-address token and
    our Message-IDs travel with every forward and quote, so they prove nothing of the sender).

Staff addresses are read once per unit of work: an intake batch asks the database once.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import Channel, Speaker
from cases.domain.intake_message import IntakeMessage
from cases.store.models import Case, Contact, Customer, User

_STAFF = "kefu_staff_addresses"  # session.info: lower-case address -> user id
_UNASSIGNED = "kefu_unassigned_customers"  # session.info: ids of the strangers' buckets


async def staff_sender(session: AsyncSession, msg: IntakeMessage) -> int | None:
    """The id of the active staff account whose address sent `msg` (email only)."""
    if msg.channel is not Channel.EMAIL:
        return None
    return (await staff_addresses(session)).get(msg.sender_identity.strip().lower())


async def staff_addresses(session: AsyncSession) -> dict[str, int]:
    """Lower-case address -> id of every active staff account (read once per unit of work)."""
    known: dict[str, int] | None = session.info.get(_STAFF)
    if known is None:
        rows = await session.execute(
            select(func.lower(User.email), User.id).where(User.email.is_not(None), User.active.is_(True))
        )
        known = session.info[_STAFF] = {address: user_id for address, user_id in rows.all()}
    return known


async def customer_side(session: AsyncSession, case: Case, contact: Contact) -> Speaker:
    """The customer (the case's contact or a colleague at the same known company) or a third party."""
    if contact.id is not None and contact.id == case.contact_id:
        return Speaker.CUSTOMER
    if contact.customer_id == case.customer_id and not await is_unassigned(session, case.customer_id):
        return Speaker.CUSTOMER
    return Speaker.THIRD_PARTY


async def is_unassigned(session: AsyncSession, customer_id: int) -> bool:
    """Whether the customer is a bucket of strangers (read once per unit of work)."""
    found: set[int] | None = session.info.get(_UNASSIGNED)
    if found is None:
        found = session.info[_UNASSIGNED] = set(
            (await session.execute(select(Customer.id).where(Customer.is_unassigned.is_(True)))).scalars()
        )
    # The archive makes the bucket when the first stranger of a batch writes (its id in
    # "kefu_unassigned"), possibly after this set was read.
    return customer_id in found or customer_id == session.info.get("kefu_unassigned")
