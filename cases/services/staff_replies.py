"""A staff member answering a notice by email (intake rules, "Staff answering a notice").

What staff write by mail on a case is their internal note, never a customer message. It is
also taken as a workflow step, but only when all of these hold, because a From header can be
forged:

* the mail answers (``In-Reply-To`` / ``References``) a staff notice whose Message-ID carries
  a token signed for the very address the mail comes from (`Signer.staff_notice_token`): only
  that person's mailbox ever had it;
* the text says the step plainly on its first lines: ``同意`` / ``批准`` / ``approve`` and one
  department (its code, Chinese or English name), or ``不做处理`` / ``no action`` and the reason;
* the person may take that step now (the states table decides, as in the API).

Otherwise the note stays a note, and the history says how to take the step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.intake_message import IntakeMessage
from cases.domain.states import Action
from cases.domain.tokens import Signer
from cases.services.satisfaction import normalise
from cases.services.speakers import staff_addresses
from cases.store.models import Department

HOW_TO = (
    "a reply by mail takes a step only when it answers a notice kefu sent to you, from the address it "
    "went to: 同意 / approve and the department (质量部, quality), or 不做处理 / no action and the reason. "
    "Otherwise take the step in the console or the API (POST /api/v1/cases/{reference}/approve, /no-action)."
)

_APPROVE = re.compile(r"^(?:同意|批准|审批通过|approved?|agreed?)(?![A-Za-z])", re.IGNORECASE)
_NO_ACTION = re.compile(r"^(?:不做处理|不予处理|无需处理|no[\s-]+action)(?![A-Za-z])[\s:：,，。.、-]*", re.IGNORECASE)
_LEAD_LINES = 3


@dataclass(frozen=True, slots=True)
class StaffStep:
    action: Action  # APPROVE or DECIDE_NO_ACTION
    department: str | None = None  # a department code (approve)
    reason: str = ""  # why no action


def answered_notice(signer: Signer, msg: IntakeMessage) -> str | None:
    """The case reference of a staff notice this mail answers, sent to this very sender."""
    for mid in msg.hints.message_ids:
        if (ref := signer.staff_notice_for(mid, msg.sender_identity)) is not None:
            return ref
    return None


async def notice_recipient(session: AsyncSession, signer: Signer, msg: IntakeMessage) -> int | None:
    """The staff member a notice this mail answers was sent to, whatever address it comes from:
    their note (a reply from another mailbox of theirs), never a step."""
    if not msg.hints.message_ids:
        return None
    for address, user_id in (await staff_addresses(session)).items():
        for mid in msg.hints.message_ids:
            if signer.staff_notice_for(mid, address) is not None:
                return user_id
    return None


def read_step(text: str, departments: list[Department]) -> StaffStep | None:
    """The step the first lines of a staff reply state plainly, or None."""
    lines = [line.strip() for line in normalise(text).split("\n") if line.strip()][:_LEAD_LINES]
    for i, line in enumerate(lines):
        if line.startswith(("不同意", "不批准")) or re.match(r"(?i)^(?:not|don't|do not)\b", line):
            return None
        if m := _NO_ACTION.match(line):
            reason = (line[m.end() :] + "\n" + "\n".join(lines[i + 1 :])).strip()
            return StaffStep(Action.DECIDE_NO_ACTION, reason=reason) if reason else None
        if _APPROVE.match(line):
            named = {d.code for d in departments if _names(line, d)}
            return StaffStep(Action.APPROVE, department=named.pop()) if len(named) == 1 else None
    return None


def looks_like_step(text: str) -> bool:
    """The first line starts like a step (同意, no action ...), whether or not it is complete."""
    lines = [line.strip() for line in normalise(text).split("\n") if line.strip()]
    return bool(lines) and (_APPROVE.match(lines[0]) is not None or _NO_ACTION.match(lines[0]) is not None)


def _names(line: str, dept: Department) -> bool:
    lowered = line.lower()
    return (
        dept.name_zh in line
        or re.search(rf"(?<![a-z_]){re.escape(dept.code)}(?![a-z_])", lowered) is not None
        or dept.name_en.lower() in lowered
    )
