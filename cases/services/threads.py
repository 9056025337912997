"""Which case a message belongs to, in the threading order of cases/services/receiving.py: a
Message-ID we sent or received on the case, our signed reply-address token, a subject tag, a
case reference the sender's own contact named. Reads only; the Message-IDs of a whole batch
are looked up at once (prefetch_threads)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import Channel
from cases.domain.intake_message import IntakeMessage
from cases.domain.tokens import Signer
from cases.store.models import Case, CaseMessage, Delivery, Identity


class Threads:
    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    async def find(self, session: AsyncSession, msg: IntakeMessage) -> tuple[Case | None, str]:
        """The case msg belongs to, and how it was found ("new": none); writes nothing."""
        if (earlier := await self._same_message_id(session, msg)) is not None:
            return earlier, "same_message_id"
        hints = msg.hints
        if hints.message_ids:
            ids = list(hints.message_ids)
            in_batch = batch_messages(session)
            for mid in ids:
                if mid in in_batch:
                    return in_batch[mid], "message_id"
            await prefetch_threads(session, ids)  # nothing to do when the batch's lookup had them
            known: dict[str, _Named] = session.info[_THREADS]
            # A message of the case first, else a notice we sent on it; in the order the mail names them.
            case_id = next((n.by_message for mid in ids if (n := known[mid]).by_message is not None), None)
            if case_id is None:
                case_id = next((n.by_notice for mid in ids if (n := known[mid]).by_notice is not None), None)
            if case_id is not None:
                return await session.get(Case, case_id), "message_id"
            for mid in ids:
                ref = self.signer.reference_from_message_id(mid)
                if ref and (case := await _by_reference(session, ref)):
                    return case, "message_id"
        if hints.address_token:
            ref = self.signer.address_reference(hints.address_token, msg.received_at)
            if ref and (case := await _by_reference(session, ref)):
                return case, "address_token"
        if hints.subject_reference:
            case = await _by_reference(session, hints.subject_reference.upper())
            if case is not None:
                return case, "subject_tag"
        if hints.case_reference:
            case = await _by_reference(session, hints.case_reference.upper())
            if case is not None and await _is_own_case(session, case, msg):
                return case, "case_reference"
        return None, "new"

    async def _same_message_id(self, session: AsyncSession, msg: IntakeMessage) -> Case | None:
        """The case of an earlier mail with this mail's own Message-ID. The inbox stored both
        (their bytes differ, so their dedupe keys do): a client that reuses ids or a gateway
        that rewrites mail. It joins that case, marked as a possible duplicate."""
        mid = msg.message_id
        if not mid or msg.channel not in (Channel.EMAIL, Channel.FAX):
            return None
        if (case := batch_messages(session).get(mid)) is not None:
            return case
        await prefetch_threads(session, [mid])
        case_id = session.info[_THREADS][mid].by_message
        return await session.get(Case, case_id) if case_id is not None else None


def batch_messages(session: AsyncSession) -> dict[str, Case]:
    """Message-IDs stored in this unit of work but not flushed yet (a batch flushes once)."""
    return session.info.setdefault("kefu_batch_messages", {})  # type: ignore[no-any-return]


_THREADS = "kefu_known_threads"  # session.info: Message-ID -> _Named, for the ids mails named


@dataclass(frozen=True, slots=True)
class _Named:
    """The case a Message-ID belongs to: a message stored on it, or a notice we sent on it."""

    by_message: int | None
    by_notice: int | None


# Values in one IN list: far below the bound parameters a statement may have (32,766 in
# SQLite's default build, 32,767 with asyncpg), which a batch of long References chains
# would otherwise reach.
IN_CHUNK = 1000


def _chunks(values: set[Any]) -> Iterator[list[Any]]:
    ordered = sorted(values)
    for i in range(0, len(ordered), IN_CHUNK):
        yield ordered[i : i + IN_CHUNK]


async def prefetch_threads(session: AsyncSession, message_ids: list[str]) -> None:
    """The cases that the Message-IDs of a whole batch's replies name, in three queries (their
    messages, our notices, the cases themselves; more only for thousands of ids);
    `Threads.find` reads it. The cases stay referenced from ``session.info`` so the identity map
    keeps them for ``get``."""
    known: dict[str, _Named] = session.info.setdefault(_THREADS, {})
    wanted = {mid for mid in message_ids if mid not in known}
    if not wanted:
        return
    by_message: dict[str | None, int] = {}
    by_notice: dict[str | None, int | None] = {}
    for part in _chunks(wanted):
        for mid, case_id in (
            await session.execute(
                select(CaseMessage.message_id, CaseMessage.case_id).where(CaseMessage.message_id.in_(part))
            )
        ).all():
            by_message.setdefault(mid, case_id)
        for mid, noticed in (
            await session.execute(
                select(Delivery.message_id, Delivery.case_id).where(
                    Delivery.message_id.in_(part), Delivery.case_id.is_not(None)
                )
            )
        ).all():
            by_notice.setdefault(mid, noticed)
    for mid in wanted:
        known[mid] = _Named(by_message.get(mid), by_notice.get(mid))
    case_ids = set(by_message.values()) | {c for c in by_notice.values() if c is not None}
    for ids in _chunks(case_ids):
        loaded = (await session.execute(select(Case).where(Case.id.in_(ids)))).scalars().all()
        session.info.setdefault("kefu_known_cases", []).extend(loaded)


async def _by_reference(session: AsyncSession, reference: str) -> Case | None:
    return (await session.execute(select(Case).where(Case.reference == reference))).scalar_one_or_none()


async def _is_own_case(session: AsyncSession, case: Case, msg: IntakeMessage) -> bool:
    return (
        await session.execute(
            select(Identity.id)
            .where(
                Identity.contact_id == case.contact_id,
                Identity.kind == msg.channel,
                Identity.value == msg.sender_identity,
            )
            .limit(1)
        )
    ).first() is not None
