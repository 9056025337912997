"""Who is behind a chat: a customer contact (an archive identity of kind telegram, value the chat
id) or a staff member (a bound staff chat). Binding, unbinding and the lookups the bot needs."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import lookup as archive
from cases.archive.phones import BadNumber, normalise_number
from cases.domain.enums import CaseState, Channel, Language
from cases.domain.states import TERMINAL
from cases.store.models import Case, Contact, Identity, TelegramStaffChat, User

log = logging.getLogger(__name__)

OPEN_STATES = [s for s in CaseState if s not in TERMINAL]


async def chat_identity(s: AsyncSession, chat_id: int) -> Identity | None:
    return (
        await s.execute(select(Identity).where(Identity.kind == Channel.TELEGRAM, Identity.value == str(chat_id)))
    ).scalar_one_or_none()


async def contact_of_chat(s: AsyncSession, chat_id: int) -> Contact | None:
    return await archive.find_contact(s, Channel.TELEGRAM, str(chat_id))


async def seen(s: AsyncSession, chat_id: int) -> None:
    """A chat that writes again has unblocked the bot: deliver there again."""
    identity = await chat_identity(s, chat_id)
    if identity is not None and not identity.active:
        identity.active = True
        log.info("telegram chat %d is reachable again", chat_id)


async def bind_contact(s: AsyncSession, chat_id: int, contact_id: int, now: datetime) -> Contact:
    """The chat speaks for this contact from now on; replies go to the chat."""
    contact = await s.get(Contact, contact_id)
    assert contact is not None
    identity = await chat_identity(s, chat_id)
    if identity is None:
        s.add(Identity(contact_id=contact.id, kind=Channel.TELEGRAM, value=str(chat_id), created_at=now))
    else:
        identity.contact_id, identity.active = contact.id, True
    contact.preferred_channel = Channel.TELEGRAM  # "in the way the customer asked for"
    log.info("telegram chat %d bound to contact %d", chat_id, contact.id)
    return contact


async def match_phone(
    s: AsyncSession, chat_id: int, phone: str, name: str, language: Language, now: datetime
) -> Contact | None:
    """A shared number that belongs to a known contact binds the chat to it; an unknown number is
    kept on the chat's own contact so that staff can match it later."""
    raw = phone.strip()
    try:
        number = normalise_number(raw if raw.startswith(("+", "0")) else "+" + raw)
    except BadNumber:
        return None
    known = await archive.find_contact(s, Channel.PHONE, number)
    if known is not None:
        return await bind_contact(s, chat_id, known.id, now)
    contact, _ = await archive.contact_for(s, Channel.TELEGRAM, str(chat_id), name, language, now)
    await s.flush()
    s.add(Identity(contact_id=contact.id, kind=Channel.PHONE, value=number, created_at=now))
    return None


async def open_cases(s: AsyncSession, contact_id: int) -> list[Case]:
    return list(
        (
            await s.execute(
                select(Case).where(Case.contact_id == contact_id, Case.state.in_(OPEN_STATES)).order_by(Case.id)
            )
        ).scalars()
    )


async def open_cases_of_chat(s: AsyncSession, chat_id: int) -> list[Case]:
    """The open cases of the contact behind this chat; none for a chat not yet bound."""
    contact = await contact_of_chat(s, chat_id)
    return await open_cases(s, contact.id) if contact else []


async def own_case(s: AsyncSession, chat_id: int, reference: str) -> Case | None:
    """The case, if it belongs to the contact behind this chat (never a stranger's)."""
    contact = await contact_of_chat(s, chat_id)
    if contact is None:
        return None
    return (
        await s.execute(select(Case).where(Case.reference == reference.upper(), Case.contact_id == contact.id))
    ).scalar_one_or_none()


async def staff_of_chat(s: AsyncSession, chat_id: int) -> tuple[TelegramStaffChat, User] | None:
    row = (
        await s.execute(
            select(TelegramStaffChat).where(TelegramStaffChat.chat_id == chat_id, TelegramStaffChat.active.is_(True))
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    user = await s.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


async def bind_user(s: AsyncSession, chat_id: int, user_id: int, now: datetime) -> User:
    """One chat per account and one account per chat: an earlier binding of either is replaced."""
    await s.execute(
        delete(TelegramStaffChat).where((TelegramStaffChat.chat_id == chat_id) | (TelegramStaffChat.user_id == user_id))
    )
    s.add(TelegramStaffChat(chat_id=chat_id, user_id=user_id, active=True, awaiting={}, created_at=now))
    user = await s.get(User, user_id)
    assert user is not None
    log.info("telegram chat %d bound to staff user %s", chat_id, user.username)
    return user
