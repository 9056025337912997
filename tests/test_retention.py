"""Record control (procedure section 8) on a real database: a closed case past its retention
loses its personal data (conversation, attachments, raw mail, contact addresses, the names in
its history) and keeps the facts the statistics count; a legal hold, a customer's longer period
and a recent closing keep a case whole; the history stays append-only but for the purge's one
redaction; a purge is planned first and audited. The CLI as an operator types it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from cases.domain.actors import Actor
from cases.domain.clock import FrozenClock
from cases.domain.enums import Channel, Language, Role
from cases.domain.errors import Forbidden, InvalidInput
from cases.domain.intake_message import Attachment as Upload
from cases.domain.intake_message import IntakeMessage
from cases.domain.retention import PURGED
from cases.services import retention
from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import (
    Attachment,
    Blob,
    Case,
    CaseHistory,
    CaseMessage,
    Contact,
    Customer,
    Identity,
    InboundMessage,
    InboundRaw,
    Purge,
)
from kefu.bootstrap import Kefu, bootstrap
from tests.conftest import ListTransport
from tests.databases import migrated

GM = Actor("gm", frozenset({Role.APPROVER}))
ADMIN = Actor("admin", frozenset({Role.ADMIN}))
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[Kefu, FrozenClock]]:
    await migrated(settings.sqlalchemy_url)
    clock = FrozenClock(START)
    kefu = bootstrap(settings, clock=clock, transport=ListTransport(), poll_seconds=0.2)
    await seed_departments(kefu.db)
    try:
        yield kefu, clock
    finally:
        await kefu.db.dispose()


async def _closed_case(kefu: Kefu, sender: str, *attachments: bytes) -> str:
    """A mail with a raw copy and its attachments, closed as "no action" now."""
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=uuid.uuid4().hex,
        sender_identity=sender,
        sender_name="张伟",
        subject="转向器漏油 张伟 13800138000",
        text="三台车漏油，请联系张伟 13800138000。",
        new_text="三台车漏油，请联系张伟 13800138000。",
        received_at=kefu.clock(),
        language=Language.ZH,
        message_id=f"{uuid.uuid4().hex}@customer.example",
        attachments=tuple(Upload(f"photo{n}.jpg", "image/jpeg", data) for n, data in enumerate(attachments)),
    )
    async with kefu.db.unit_of_work() as s:
        outcome = await kefu.service.receive(s, msg)
        case = (await s.execute(select(Case).where(Case.reference == outcome.reference))).scalar_one()
        case.part_number, case.batch, case.quantity, case.vehicle = "SG-4410", "B2025-0301", 3, "LGAX4C351K1234567"
        inbound = InboundMessage(
            channel=Channel.EMAIL,
            dedupe_key=uuid.uuid4().hex,
            message_id=msg.message_id,
            envelope_from=sender,
            envelope_to=["service@kefu.example"],
            size=40,
            received_at=kefu.clock(),
            case_id=case.id,
        )
        s.add(inbound)
        await s.flush()
        s.add(InboundRaw(inbound_id=inbound.id, raw=f"From: {sender}\r\n\r\n张伟 13800138000".encode()))
    await kefu.service.decide_no_action(GM, outcome.reference, "客户张伟已电话确认无需处理")
    return outcome.reference


async def _case(kefu: Kefu, reference: str) -> Case:
    async with kefu.db.reader() as s:
        return (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()


async def test_a_case_past_retention_loses_its_personal_data_and_keeps_its_facts(
    world: tuple[Kefu, FrozenClock],
) -> None:
    kefu, clock = world
    old = await _closed_case(kefu, "zhang.wei@faw-parts.cn", b"\xff\xd8 photo of the leak", b"\xff\xd8 old only")
    held = await _closed_case(kefu, "wang.fang@byd-parts.cn", b"\xff\xd8 another photo")
    async with kefu.db.unit_of_work() as s:
        await retention.set_legal_hold(s, ADMIN, held, "客户索赔诉讼 2025-07", clock())
    clock.advance(days=300)
    recent = await _closed_case(kefu, "li.na@chery-parts.cn", b"\xff\xd8 photo of the leak")
    clock.advance(days=100)  # old and held: 400 days closed; recent: 100

    async with kefu.db.reader() as s:
        todo = await retention.plan(s, clock(), None)
    assert (todo.cases, todo.held, todo.retention_days["case"]) == ([old], [held], 365)
    assert (await _case(kefu, old)).purged_at is None  # the plan is a dry run

    result = await retention.purge(kefu.db, ADMIN, clock(), None)
    assert result.cases == [old]
    assert result.counts["cases"] == 1 and result.counts["raw_mail"] == 1
    assert result.counts["attachments"] == 2 and result.counts["blobs"] == 1  # the shared photo stays

    purged = await _case(kefu, old)
    assert purged.purged_at == clock() and purged.subject == PURGED and purged.vehicle == PURGED
    facts = (purged.part_number, purged.batch, purged.quantity, purged.severity, purged.state, purged.closed_at)
    assert facts[:3] == ("SG-4410", "B2025-0301", 3) and purged.closed_at is not None
    async with kefu.db.reader() as s:
        messages = (await s.execute(select(CaseMessage).where(CaseMessage.case_id == purged.id))).scalars().all()
        assert messages and all(m.body == PURGED and m.sender == "" and "张伟" not in m.subject for m in messages)
        assert (
            await s.execute(select(Attachment).join(CaseMessage).where(CaseMessage.case_id == purged.id))
        ).all() == []
        # The recent case's photo has the same bytes as one of the purged case's: that blob stays.
        assert len((await s.execute(select(Blob))).all()) == 2
        inbound = (await s.execute(select(InboundMessage).where(InboundMessage.case_id == purged.id))).scalar_one()
        assert inbound.envelope_from == "" and await s.get(InboundRaw, inbound.id) is None
        contact = await s.get(Contact, purged.contact_id)
        assert contact is not None and contact.name == PURGED
        identities = (await s.execute(select(Identity).where(Identity.contact_id == contact.id))).scalars().all()
        assert identities and all(i.value.startswith("purged-") and not i.active for i in identities)
        history = (
            (await s.execute(select(CaseHistory).where(CaseHistory.case_id == purged.id).order_by(CaseHistory.id)))
            .scalars()
            .all()
        )
        text_of_history = repr([(h.actor, h.changes, h.note) for h in history])
        assert "zhang.wei" not in text_of_history and "张伟" not in text_of_history
        assert history[-1].action == "records_purged" and history[-1].redacted_at is None
        assert all(h.redacted_at == clock() for h in history[:-1])
        assert [h.to_state for h in history[:-1]] == [h.to_state for h in history[:-1]]  # the facts stay
        runs = (await s.execute(select(Purge))).scalars().all()
        assert len(runs) == 1 and runs[0].actor == "admin" and runs[0].references == {"cases": [old]}

    for kept in (held, recent):
        case = await _case(kefu, kept)
        assert case.purged_at is None and "张伟" in case.subject

    again = await retention.purge(kefu.db, ADMIN, clock(), None)
    assert again.cases == [] and again.counts.get("cases", 0) == 0
    async with kefu.db.reader() as s:
        assert len((await s.execute(select(Purge))).all()) == 1  # a purge that removed nothing is no record


async def test_the_history_allows_the_redaction_once_and_nothing_else(world: tuple[Kefu, FrozenClock]) -> None:
    kefu, clock = world
    await _closed_case(kefu, "zhang.wei@faw-parts.cn")
    refused_before = [
        "UPDATE case_history SET note = 'rewritten'",
        "UPDATE case_history SET redacted_at = at, action = 'approve'",  # a redaction may not change a fact
        "UPDATE case_history SET redacted_at = at, at = at",  # allowed shape, but see below: once only
        "DELETE FROM case_history",
    ]
    for sql in refused_before[:2] + refused_before[3:]:
        with pytest.raises(Exception, match=r"(?i)append-only"):
            async with kefu.db.unit_of_work() as s:
                await s.execute(text(sql))
    clock.advance(days=400)
    await retention.purge(kefu.db, ADMIN, clock(), None)
    for sql in ("UPDATE case_history SET redacted_at = NULL, note = 'restored'", refused_before[2]):
        with pytest.raises(Exception, match=r"(?i)append-only"):  # no way back, no second redaction
            async with kefu.db.unit_of_work() as s:
                await s.execute(text(sql + " WHERE redacted_at IS NOT NULL"))


async def test_a_customer_that_asks_for_longer_keeps_its_cases_longer(world: tuple[Kefu, FrozenClock]) -> None:
    kefu, clock = world
    reference = await _closed_case(kefu, "zhang.wei@faw-parts.cn")
    customer_id = (await _case(kefu, reference)).customer_id
    async with kefu.db.unit_of_work() as s:
        await retention.set_customer_retention(s, ADMIN, customer_id, 3 * 365)
        with pytest.raises(InvalidInput):
            await retention.set_retention(s, ADMIN, "case", 0, clock())
        with pytest.raises(InvalidInput, match="no record class"):
            await retention.set_retention(s, ADMIN, "emails", 30, clock())
    with pytest.raises(Forbidden):
        async with kefu.db.unit_of_work() as s:
            await retention.set_retention(s, GM, "case", 30, clock())
    clock.advance(days=400)
    async with kefu.db.reader() as s:
        assert (await retention.plan(s, clock(), None)).cases == []
    clock.advance(days=3 * 365 - 399)
    async with kefu.db.reader() as s:
        assert (await retention.plan(s, clock(), None)).cases == [reference]
        customer = await s.get(Customer, customer_id)
        assert customer is not None and customer.retention_days == 3 * 365


async def test_outgoing_mail_files_go_by_the_time_in_their_name(
    world: tuple[Kefu, FrozenClock], tmp_path: Path
) -> None:
    kefu, clock = world
    folder = tmp_path / "outgoing"
    folder.mkdir()
    for when in (START - timedelta(days=400), START - timedelta(days=10)):
        (folder / f"{when:%Y%m%dT%H%M%S.%fZ}-0123456789ab.eml").write_bytes(b"Subject: x\r\n\r\nx")
    async with kefu.db.unit_of_work() as s:
        await retention.set_retention(s, ADMIN, "outgoing_mail", 30, clock())
    result = await retention.purge(kefu.db, ADMIN, clock(), folder)
    assert result.counts["outgoing_files"] == 1
    assert [p.name[:8] for p in folder.glob("*.eml")] == [f"{START - timedelta(days=10):%Y%m%d}"]


def _kefu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kefu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_the_operator_plans_then_purges_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _kefu(env, "db", "upgrade").returncode == 0
    outgoing = tmp_path / "outgoing"
    outgoing.mkdir()
    old = outgoing / "20200101T000000.000000Z-0123456789ab.eml"
    old.write_bytes(b"Subject: old\r\n\r\nold")
    classes = _kefu(env, "records", "classes")
    assert classes.returncode == 0 and "case" in classes.stdout and "365 days" in classes.stdout
    assert _kefu(env, "records", "set", "raw_mail", "90").returncode == 0
    assert "raw_mail           90 days" in _kefu(env, "records", "classes").stdout
    dry = _kefu(env, "records", "purge")
    assert dry.returncode == 0, dry.stderr
    assert "outgoing mail files past retention: 1" in dry.stdout and "dry run" in dry.stdout and old.exists()
    done = _kefu(env, "records", "purge", "--yes")
    assert done.returncode == 0, done.stderr
    assert "outgoing_files 1" in done.stdout and not old.exists()
    log = _kefu(env, "records", "log")
    assert "cli" in log.stdout and "outgoing_files 1" in log.stdout
    missing = _kefu(env, "records", "hold", "FB-2020-000001", "--reason", "诉讼")
    assert missing.returncode == 1 and "no case FB-2020-000001" in missing.stderr
