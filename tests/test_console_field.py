"""The field data in the console: the early-warning alerts with the cases behind them, their
acknowledgement with a decision (by the roles the service names), and a batch's trace for a
recall — the same functions the API calls (docs/field-data.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from cases.store.models import Case, Customer, Shipment, WarningAlert, WarningAlertCase
from tests.apihelpers import open_case
from tests.consolehelpers import Console, console_fixture  # noqa: F401

BATCH = "B2026-1107"


async def _alert_on(console: Console, reference: str) -> int:
    """An alert as the scan opens one, on the cell of the case's part (the scan is tested apart)."""
    now = datetime(2026, 11, 30, 10, tzinfo=UTC)
    async with console.kefu.db.unit_of_work() as s:
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
        alert = WarningAlert(
            cell="3501-00123|NOISE|",
            part_number="3501-00123",
            failure_mode="NOISE",
            customer_id=None,
            rule="c_chart",
            window_start=date(2026, 9, 1),
            window_end=date(2026, 11, 30),
            observed=9,
            expected=1.5,
            upper_limit=5,
            p_value=2e-6,
            exposure=None,
            raised_on=now.date(),
            raised_at=now,
            case_id=case.id,
        )
        s.add(alert)
        await s.flush()
        s.add(WarningAlertCase(alert_id=alert.id, case_id=case.id))
        return alert.id


async def test_an_alert_shows_its_cases_and_is_acknowledged_with_a_decision(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响", "零件号：3501-00123\n批次：B2026-1107\n异响。")
    alert_id = await _alert_on(console, reference)
    qe = await console.browser("qe")
    listed = await qe.get("/warnings")
    assert 'href="/warnings"' in listed and f'href="/warnings/{alert_id}"' in listed
    assert "c 图（计数）" in listed and "9 / 1.5" in listed and "未处理" in listed
    page = await qe.get(f"/warnings/{alert_id}")
    assert f'href="/cases/{reference}"' in page and 'id="form-acknowledge"' in page
    # a department member reads it (they are told of alerts) but may not decide
    prod = await console.browser("prod")
    assert 'id="form-acknowledge"' not in await prod.get(f"/warnings/{alert_id}")
    refused = await prod.client.post(
        f"/warnings/{alert_id}/acknowledge",
        data={"csrf_token": prod.csrf(), "decision": "recall"},
        allow_redirects=False,
    )
    assert refused.status == 403
    # an unknown decision: the service's words, nothing kept
    bad = await qe.client.post(
        f"/warnings/{alert_id}/acknowledge",
        data={"csrf_token": qe.csrf(), "decision": "panic"},
        allow_redirects=False,
    )
    assert bad.status == 422 and "未知的处理决定" in await bad.text()
    done = await qe.client.post(
        f"/warnings/{alert_id}/acknowledge",
        data={"csrf_token": qe.csrf(), "decision": "investigate", "note": "拆解 5 件"},
        allow_redirects=False,
    )
    assert done.status == 303 and done.headers["Location"] == f"/warnings/{alert_id}?done=1"
    page = await qe.get(done.headers["Location"])
    assert "已确认。" in page and "调查" in page and "拆解 5 件" in page and 'id="form-acknowledge"' not in page
    assert "没有未处理的报警。" in await qe.get("/warnings")  # acknowledged: no longer open
    assert f'href="/warnings/{alert_id}"' in await qe.get("/warnings?all=1")
    async with console.kefu.db.reader() as s:
        kept = await s.get(WarningAlert, alert_id)
        assert kept is not None and (kept.decision, kept.acknowledged_by) == ("investigate", "qe")
    # a second decision on the same alert is the service's conflict
    again = await qe.client.post(
        f"/warnings/{alert_id}/acknowledge",
        data={"csrf_token": qe.csrf(), "decision": "recall"},
        allow_redirects=False,
    )
    assert again.status == 409
    assert (await qe.client.get("/warnings/99999")).status == 404
    nobody = await console.browser("nobody")
    assert (await nobody.client.get("/warnings")).status == 403
    assert 'href="/warnings"' not in await nobody.get("/")


async def test_a_batch_lists_who_received_it_and_what_was_said_of_it(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响", f"零件号：3501-00123\n批次：{BATCH}\n异响。")
    async with console.kefu.db.unit_of_work() as s:
        customer_id = (await s.execute(select(Case.customer_id).where(Case.reference == reference))).scalar_one()
        name = (await s.execute(select(Customer.name).where(Customer.id == customer_id))).scalar_one()
        s.add_all(
            [
                Shipment(
                    part_number="3501-00123",
                    batch=BATCH,
                    customer=name,
                    customer_id=customer_id,
                    month=date(2026, 8, 1),
                    quantity=1200,
                    source="test",
                    imported_at=datetime(2026, 9, 1, tzinfo=UTC),
                ),
                Shipment(
                    part_number="3501-00123",
                    batch=BATCH,
                    customer="OEM-B",
                    customer_id=None,
                    month=date(2026, 9, 1),
                    quantity=800,
                    source="test",
                    imported_at=datetime(2026, 9, 1, tzinfo=UTC),
                ),
            ]
        )
    prod = await console.browser("prod")  # a recall needs every customer of the batch
    page = await prod.get(f"/batches?batch={BATCH}")
    assert "共发货 2000" in page and "OEM-B" in page and name in page
    assert f'href="/cases/{reference}"' in page and "2026-08" in page
    missing = await prod.client.get("/batches?batch=B1999-0000")
    assert missing.status == 404 and "B1999-0000" in await missing.text()
    assert 'id="form-batch"' in await prod.get("/batches")
