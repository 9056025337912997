"""Append-only rows (cases/store/rows.py) on a real database: written at the flush with their keys,
written at commit when nothing else was dirty, gone with a rollback."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cases.archive.lookup import contact_for
from cases.domain.actors import SYSTEM
from cases.domain.enums import CaseState, Channel, Language
from cases.domain.events import EventKind
from cases.services.records import emit, record_history
from cases.store import rows
from cases.store.models import Attachment, Blob, Case, CaseHistory, CaseMessage, Customer, OutboxEvent
from kefu.bootstrap import Kefu

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def _new_case(s, reference: str) -> Case:  # type: ignore[no-untyped-def]
    contact, _ = await contact_for(s, Channel.EMAIL, f"{reference.lower()}@example.cn", "", Language.ZH, NOW)
    case = Case(
        reference=reference,
        type="quality_complaint",
        channel="email",
        state=CaseState.NEW,
        customer_id=contact.customer_id,
        contact=contact,
        subject="s",
        reply_channel="email",
        received_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    s.add(case)
    return case


async def _count(kefu: Kefu, model: type) -> int:
    async with kefu.db.reader() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_rows_of_new_cases_and_their_messages_get_the_keys_of_the_flush(kefu: Kefu) -> None:
    async with kefu.db.unit_of_work() as s:
        cases = [await _new_case(s, f"FB-2026-90000{i}") for i in range(3)]
        for case in cases:
            message = rows.append(
                s,
                CaseMessage,
                dict(direction="in", channel="email", subject="s", body="b", new_text="b", created_at=NOW),
                case_id=case,
            )
            for name in ("a.pdf", "b.pdf"):  # the same bytes twice: one blob
                rows.append(s, Blob, {"sha256": "0" * 64, "size": 3, "data": b"abc"})
                rows.append(
                    s,
                    Attachment,
                    dict(filename=name, content_type="application/pdf", size=3, sha256="0" * 64),
                    message_id=message,
                )
            record_history(s, case=case, at=NOW, actor=SYSTEM, action="opened", to_state=case.state)
            emit(s, EventKind.CASE_OPENED, case, NOW)
    async with kefu.db.reader() as s:
        by_case = dict((await s.execute(select(Case.reference, Case.id))).all())
        messages = (await s.execute(select(CaseMessage.id, CaseMessage.case_id))).all()
        attachments = (await s.execute(select(Attachment.message_id, Attachment.filename))).all()
        history = (await s.execute(select(CaseHistory.case_id))).scalars().all()
        events = (await s.execute(select(OutboxEvent.case_id))).scalars().all()
    assert Counter(c for _, c in messages) == Counter(by_case.values())
    assert Counter(m for m, _ in attachments) == Counter([m for m, _ in messages] * 2)
    assert Counter(history) == Counter(events) == Counter(by_case.values())
    assert await _count(kefu, Blob) == 1


async def test_rows_alone_are_written_at_commit(kefu: Kefu) -> None:
    async with kefu.db.unit_of_work() as s:
        case = await _new_case(s, "FB-2026-900010")
    async with kefu.db.unit_of_work() as s:
        case = (await s.execute(select(Case).where(Case.id == case.id))).scalar_one()
        record_history(s, case=case, at=NOW, actor=SYSTEM, action="note", note="nothing else changed")
        assert not s.dirty and not s.new  # nothing for the ORM to flush
    async with kefu.db.reader() as s:
        notes = (await s.execute(select(CaseHistory.note).where(CaseHistory.case_id == case.id))).scalars().all()
    assert notes == ["nothing else changed"]


async def test_a_rollback_drops_the_queued_rows(kefu: Kefu) -> None:
    with pytest.raises(RuntimeError):
        async with kefu.db.unit_of_work() as s:
            case = await _new_case(s, "FB-2026-900020")
            record_history(s, case=case, at=NOW, actor=SYSTEM, action="opened")
            await s.flush()  # written to the transaction ...
            raise RuntimeError("... and rolled back")
    async with kefu.db.unit_of_work() as s:
        await _new_case(s, "FB-2026-900021")  # the next unit of work starts clean
    assert await _count(kefu, CaseHistory) == 0
    assert await _count(kefu, Customer) >= 1


async def test_new_objects_are_inserted_at_the_flush_and_then_tracked_like_loaded_ones(kefu: Kefu) -> None:
    from cases.archive import lookup as archive

    async with kefu.db.unit_of_work() as s:
        contact, created = await archive.contact_for(s, Channel.EMAIL, "li.na@example.cn", "李娜", Language.ZH, NOW)
        assert created and contact.id is None  # queued, not written
        case = Case(
            reference="FB-2026-900030",
            type="quality_complaint",
            channel="email",
            state=CaseState.NEW,
            customer_id=contact.customer_id,
            contact=contact,
            subject="s",
            reply_channel="email",
            received_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
        rows.add_new(s, case)
        case.part_number = "BP-100"  # changed before the flush: part of the insert
        await s.flush()
        assert contact.id is not None and case.id is not None and case.contact_id == contact.id
        assert case.version == 1 and case.reopen_count == 0 and case.analysis is None  # defaults, loaded
        case.severity = "high"  # changed after: an ordinary ORM update
    async with kefu.db.reader() as s:
        stored = (await s.execute(select(Case).where(Case.reference == "FB-2026-900030"))).scalar_one()
        assert (stored.part_number, stored.severity, stored.version) == ("BP-100", "high", 2)
        again, created = await archive.contact_for(s, Channel.EMAIL, "li.na@example.cn", "", Language.ZH, NOW)
        assert not created and again.id == contact.id
