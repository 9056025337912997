"""Mail that may not open a case: held unless it threads to one (or comes from a known contact).

The intake rule table (intake/mailrules.py) marks bulk and list mail ``KNOWN_SENDER`` and
auto-replies ``THREAD_ONLY``; an admin may change each rule's policy (the ``intake_holds`` rule
table, read once per batch: cases/rules/store.py). This decides, with the database, whether such a mail joins a
case or is held in the quarantine with the rule that held it. A threading match always wins:
an out-of-office answer to our notice joins its case as an automatic message, and a customer's
group alias (which adds ``List-Id``) is a known contact. Nothing is written here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import lookup as archive
from cases.domain.intake_message import IntakeMessage, NewCase
from cases.rules import store as rule_store
from cases.rules.intake_holds import policy_of
from cases.rules.tables import INTAKE_HOLDS
from cases.services.receiving import Receiver
from cases.store.models import Case, Contact, Customer

# What kind of mail a rule catches, by the policy the code gives it (the table's default).
_KIND = {
    NewCase.KNOWN_SENDER: ("bulk or list mail", "群发或邮件列表邮件"),
    NewCase.THREAD_ONLY: ("automatic reply", "自动回复"),
}


def _why(policy: NewCase, rule: str, fallback: NewCase) -> str:
    key = INTAKE_HOLDS.key(rule)
    en, zh = _KIND.get(NewCase(key.default) if key else fallback, _KIND[NewCase.THREAD_ONLY])
    if policy is NewCase.KNOWN_SENDER:
        return (
            f"{en} from a sender who is no known contact, about no case / {zh}，发件人不是已知联系人，且不属于任何案件"
        )
    return f"{en} about no case / {zh}，不属于任何案件"


async def hold_reason(session: AsyncSession, receiver: Receiver, msg: IntakeMessage) -> str | None:
    """Why msg is held instead of opening a case, or None when it is received as usual."""
    if msg.new_case is NewCase.ALLOWED:  # no restricting rule fired: no query at all
        return None
    policy, rule = policy_of(msg, await rule_store.batch_values(session, INTAKE_HOLDS))
    if policy is NewCase.ALLOWED:  # the admin allows this rule's mail to open a case
        return None
    contact = await _known_contact(session, msg)
    case, how = await receiver.thread_of(session, msg)
    if case is not None and (how != "subject_tag" or await _tag_counts(session, case, contact)):
        return None
    if policy is NewCase.KNOWN_SENDER and contact is not None:
        return None
    return f"held by rule {rule}: {_why(policy, rule, msg.new_case)}"


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
