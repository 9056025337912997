"""Who is calling: contacts whose name, or whose phone or fax number, matches what staff type.

The console's "log an entry" form asks this as the number or name is typed. It only reads;
the entry service (cases/services/entries.py) still decides who the caller is when the form
is posted, so a form sent without a pick (no JavaScript) ends at the same contact.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive.phones import NUMBER_KINDS
from cases.store.models import Contact, Customer, Identity

MIN_QUERY = 2  # one character matches half the archive
MIN_DIGITS = 4  # fewer digits match too many numbers to be of use
LIMIT = 10


def _digits(text: str) -> str:
    """The digits of a number as typed (`138-0013 8000`, `+86 138…`): numbers are stored as
    E.164, so a run of digits is looked for inside them; a leading trunk 0 is dropped."""
    digits = re.sub(r"\D", "", text)
    return digits.lstrip("0")


async def find_callers(s: AsyncSession, q: str, limit: int = LIMIT) -> list[dict[str, Any]]:
    """Up to `limit` contacts, each with its customer and its phone and fax numbers."""
    q = q.strip()
    if len(q) < MIN_QUERY:
        return []
    digits = _digits(q)
    by_number = (
        select(Identity.contact_id)
        .where(Identity.kind.in_(NUMBER_KINDS), Identity.value.contains(digits, autoescape=True))
        .scalar_subquery()
        if len(digits) >= MIN_DIGITS
        else None
    )
    condition = Contact.name.icontains(q, autoescape=True)
    if by_number is not None:
        condition = or_(condition, Contact.id.in_(by_number))
    rows = (
        await s.execute(
            select(Contact, Customer.name, Customer.code)
            .join(Customer, Customer.id == Contact.customer_id)
            .where(condition)
            .order_by(Contact.name, Contact.id)
            .limit(limit)
        )
    ).all()
    ids = [contact.id for contact, _, _ in rows]
    numbers: dict[int, list[str]] = {}
    for contact_id, value in await s.execute(
        select(Identity.contact_id, Identity.value)
        .where(Identity.contact_id.in_(ids), Identity.kind.in_(NUMBER_KINDS))
        .order_by(Identity.id)
    ):
        numbers.setdefault(contact_id, []).append(value)
    return [
        {
            "contact_id": contact.id,
            "name": contact.name,
            "customer_id": contact.customer_id,
            "customer": name,
            "customer_code": code,
            "numbers": numbers.get(contact.id, []),
            "language": contact.language.value,
            "preferred_channel": contact.preferred_channel.value,
        }
        for contact, name, code in rows
    ]
