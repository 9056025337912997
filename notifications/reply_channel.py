"""How we answer a customer: "in the way the customer asked for" (the procedure's flow chart).

One table from the case's requested reply channel to the channels we try, in order. The first
channel on which the contact has an active identity carries the notice. A channel we cannot
send on by ourselves (phone, letter, visit, survey) falls through to email when the contact
has an address; the fax gateway is never answered automatically (it is a machine).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from cases.archive import lookup as archive
from cases.domain.enums import Channel, Language
from cases.store.models import Case, Contact

log = logging.getLogger(__name__)

C = Channel

# requested reply channel -> channels tried in order
FALLBACKS: dict[Channel, tuple[Channel, ...]] = {
    C.EMAIL: (C.EMAIL,),
    C.TELEGRAM: (C.TELEGRAM, C.EMAIL),
    C.FAX: (C.EMAIL,),
    C.PHONE: (C.EMAIL,),
    C.LETTER: (C.EMAIL,),
    C.VISIT: (C.EMAIL,),
    C.SURVEY: (C.EMAIL,),
}

# Channels the dispatcher can deliver on; others in FALLBACKS are skipped until they can.
SENDABLE: set[Channel] = {C.EMAIL, C.TELEGRAM}  # telegram: bots/channel.py


async def customer_targets(
    s: AsyncSession,
    case: Case,
    skip: Channel | None = None,
    identities: Mapping[tuple[int, Channel], list[str]] | None = None,
) -> list[tuple[Channel, str, Language]]:
    """(channel, recipient, language) for one customer notice; empty when there is no way.
    `skip`: a channel that just failed (a blocked Telegram chat), for the fallback.
    `identities`: (contact id, channel) -> active identities in id order, read beforehand for a
    whole fan-out batch; without it they are read here."""
    contact = await s.get(Contact, case.contact_id)
    language = case.language or (contact.language if contact else Language.ZH)
    requested = case.reply_channel or C.EMAIL
    for channel in FALLBACKS.get(requested, (C.EMAIL,)):
        if channel not in SENDABLE or channel is skip:
            continue
        found = (
            identities.get((case.contact_id, channel), [])
            if identities is not None
            else await archive.identities_of(s, case.contact_id, channel)
        )
        if found:
            return [(channel, found[0], language)]
    log.warning(
        "%s: contact has no way to reach them for reply channel %s; customer notice not sent", case.reference, requested
    )
    return []
