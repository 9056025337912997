"""Which staff notices also go to the staff's bound Telegram chats (besides the email every
notice gets). The channel that sends them is the bot's (bots/channel.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import Channel, Language
from cases.store.models import TelegramStaffChat, User

# Staff templates worth a push to the phone (besides the email every notice gets).
STAFF_PUSH: frozenset[str] = frozenset(
    {
        "approval_needed",
        "case_assigned",
        "customer_message",
        "case_unsatisfied",
        "deadline_near",
        "deadline_passed",
        "report_due",  # four a year at most, and a missed quarterly report is an audit finding
    }
)


async def staff_chat_targets(s: AsyncSession, template: str, users: list[User]) -> list[tuple[Channel, str, Language]]:
    """(channel, recipient, language) for the users' bound, active staff chats."""
    if template not in STAFF_PUSH or not users:
        return []
    by_user = {u.id: u for u in users}
    rows = (
        await s.execute(
            select(TelegramStaffChat).where(
                TelegramStaffChat.user_id.in_(list(by_user)), TelegramStaffChat.active.is_(True)
            )
        )
    ).scalars()
    return [(Channel.TELEGRAM, str(r.chat_id), by_user[r.user_id].language) for r in rows]
