"""Mail that may not open a case: held unless it threads to one (or comes from a known contact).

The intake rule table (intake/mailrules.py) marks bulk and list mail ``KNOWN_SENDER`` and
auto-replies ``THREAD_ONLY``; this decides, with the database, whether such a mail joins a
case or is held in the quarantine with the rule that held it. A threading match always wins:
an out-of-office answer to our notice joins its case as an automatic message, and a customer's
group alias (which adds ``List-Id``) is a known contact. Nothing is written here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import lookup as archive
from cases.domain.intake_message import IntakeMessage, NewCase
from cases.services.receiving import Receiver
from cases.store.models import Case, Contact, Customer

_WHY = {
    NewCase.KNOWN_SENDER: "bulk or list mail from a sender who is no known contact, about no case "
    "/ 群发或邮件列表邮件，发件人不是已知联系人，且不属于任何案件",
    NewCase.THREAD_ONLY: "automatic reply about no case / 自动回复，不属于任何案件",
}


async def hold_reason(session: AsyncSession, receiver: Receiver, msg: IntakeMessage) -> str | None:
    """Why msg is held instead of opening a case, or None when it is received as usual."""
    if msg.new_case is NewCase.ALLOWED:
        return None
    contact = await _known_contact(session, msg)
    case, how = await receiver.thread_of(session, msg)
    if case is not None and (how != "subject_tag" or await _tag_counts(session, case, contact)):
        return None
    if msg.new_case is NewCase.KNOWN_SENDER and contact is not None:
        return None
    return f"held by rule {msg.new_case_rule}: {_WHY[msg.new_case]}"


async def _known_contact(session: AsyncSession, msg: IntakeMessage) -> Contact | None:
    if msg.contact_id is not None:
        return await session.get(Contact, msg.contact_id)
    key = (msg.channel, msg.sender_identity)
    pending = session.info.get("kefu_new_contacts", {})  # a sender new in this very batch
    if key in pending:
        return pending[key]  # type: ignore[no-any-return]
    known = session.info.get(archive.KNOWN_CONTACTS, {})
    if key in known:
        return known[key]  # type: ignore[no-any-return]
    return await archive.find_contact(session, msg.channel, msg.sender_identity)


async def _tag_counts(session: AsyncSession, case: Case, contact: Contact | None) -> bool:
    """A subject tag threads only from the case's customer (receiving.py; Zammad #5064); in the
    unassigned pool only from the case's own contact."""
    if contact is None or contact.customer_id != case.customer_id:
        return False
    unassigned = (await session.execute(select(Customer.is_unassigned).where(Customer.id == case.customer_id))).scalar()
    return not unassigned or case.contact_id == contact.id
