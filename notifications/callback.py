"""When a customer notice has no way to reach the customer: a task for Sales to call back.

A phone or letter customer with no email (and no Telegram chat) cannot be answered by us
automatically. For the notices whose content the customer must get (the reply with the
satisfaction question, a "no action" decision with its reason, the reminder), the case records
"callback needed" in its history and Sales get a staff notice (event CALLBACK_NEEDED, routed in
notifications/routing.py). Other notices (acknowledgements) are only logged: Sales logged the
call themselves, or will tell the customer with the result.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import lookup as archive
from cases.domain.actors import SYSTEM
from cases.domain.enums import Channel
from cases.domain.events import EventKind
from cases.services.records import emit, record_history
from cases.store.models import Case

log = logging.getLogger(__name__)

# customer notice template -> what Sales must tell the customer, (zh, en)
CALLBACK_FOR: dict[str, tuple[str, str]] = {
    "reply": ("处理结果，并请客户确认满意度", "the result, and ask whether they are satisfied"),
    "no_action": ("不做处理的决定及原因", "that no action will be taken, and why"),
    "satisfaction_reminder": ("再次请客户确认满意度", "ask again whether they are satisfied"),
    "case_reopened": ("案件已重新处理", "that the case was reopened"),
}


async def no_way_to_reach(s: AsyncSession, case: Case, template: str, now: datetime) -> bool:
    """Record the callback task for this notice; True when one was recorded."""
    what = CALLBACK_FOR.get(template)
    if what is None:
        log.info("%s: customer notice %s not sent: no way to reach the customer", case.reference, template)
        return False
    phones = await archive.identities_of(s, case.contact_id, Channel.PHONE) or await archive.identities_of(
        s, case.contact_id, Channel.FAX
    )
    phone = phones[0] if phones else ""
    record_history(
        s,
        case=case,
        at=now,
        actor=SYSTEM,
        action="callback_needed",
        note=f"销售部需回电告知客户{what[0]} / Sales to call back and tell the customer {what[1]}"
        + (f" ({phone})" if phone else " (no number on file)"),
    )
    # "reason" and "message" are what the staff templates show (notifications/context.py).
    emit(
        s,
        EventKind.CALLBACK_NEEDED,
        case,
        now,
        template=template,
        reason=f"{what[0]} / {what[1]}",
        message=phone or "-",
    )
    log.warning("%s: no way to send %s to the customer; callback task for Sales", case.reference, template)
    return True
