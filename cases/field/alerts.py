"""Early-warning alerts: the scan opens them, a person acknowledges each with a decision.

One signal alerts once. A cell that alerted is quiet until its window has rolled past the
alert (`window_days` after it was raised: by then the failures that made it are baseline); an
alert not yet acknowledged takes in the cell's new cases meanwhile. The unique key (cell,
raised_on) keeps two instances scanning at once from opening the same alert twice.

Each new alert writes one `early_warning` event on the latest case behind it; the notices
(Sales, Quality, Technical Development, Production Equipment: 6.5.2 e) are routed in
notifications/routing.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import Role
from cases.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from cases.domain.events import EventKind
from cases.field.records import catch_up
from cases.field.scan import Signal, Window, find_signals, window_of
from cases.services.records import emit
from cases.settings import SettingsError
from cases.store.db import Database
from cases.store.models import Case, Customer, FieldFailure, WarningAlert, WarningAlertCase
from cases.store.upsert import insert_or_skip

log = logging.getLogger(__name__)

MAX_LINKED = 500  # cases linked to one alert; the records themselves stay countable


class Decision(StrEnum):
    INVESTIGATE = "investigate"  # root cause analysis (8D) started
    CONTAINMENT = "containment"  # stock sorted, shipments held
    RECALL = "recall"  # the batch is recalled and exchanged (6.5.2 c)
    MONITOR = "monitor"  # watched, no action yet
    FALSE_ALARM = "false_alarm"


ACKNOWLEDGERS: frozenset[Role] = frozenset({Role.QUALITY, Role.SALES, Role.APPROVER})


@dataclass(frozen=True, slots=True)
class ScanResult:
    fed: int  # field records the catch-up wrote
    cells: int  # cells judged
    signals: list[Signal]
    opened: list[int]  # ids of new alerts
    window: Window

    def as_dict(self) -> dict[str, Any]:
        return {
            "fed": self.fed,
            "cells": self.cells,
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
            "baseline_start": self.window.baseline_start.isoformat(),
            "signals": [s.as_dict() for s in self.signals],
            "opened": self.opened,
        }


class EarlyWarning:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        tz: ZoneInfo,
        window_days: int,
        baseline_days: int,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        if window_days < 1 or baseline_days < window_days:
            raise SettingsError(
                "KEFU_EARLY_WARNING_WINDOW_DAYS must be at least 1 and KEFU_EARLY_WARNING_BASELINE_DAYS "
                f"at least as long, got {window_days} and {baseline_days}"
            )
        self.db = db
        self.clock = clock
        self.tz = tz
        self.window_days = window_days
        self.baseline_days = baseline_days
        self._on_commit = on_commit  # wakes the notification dispatcher

    async def scan(self, per_customer: bool = True) -> ScanResult:
        now = self.clock()
        w = window_of(now, self.tz, self.window_days, self.baseline_days)
        fed = await catch_up(self.db, self.tz, now)
        async with self.db.unit_of_work() as s:
            signals, cells = await find_signals(s, w, per_customer)
            opened = []
            for signal in signals:
                alert_id = await self._alert(s, signal, w, now)
                if alert_id is not None:
                    opened.append(alert_id)
        if opened:
            self._on_commit()
        log.info(
            "early warning: %d cells judged, %d signals, %d new alerts (window %s..%s)",
            cells,
            len(signals),
            len(opened),
            w.start,
            w.end,
        )
        return ScanResult(fed, cells, signals, opened, w)

    async def run_round(self) -> tuple[int, int]:
        """One periodic round (cases/services/wakeup.run_rounds): (signals, new alerts)."""
        result = await self.scan()
        return len(result.signals), len(result.opened)

    async def _alert(self, s: AsyncSession, signal: Signal, w: Window, now: datetime) -> int | None:
        recent = (
            await s.execute(
                select(WarningAlert)
                .where(WarningAlert.cell == signal.cell, WarningAlert.raised_at > now - timedelta(days=w.days))
                .order_by(WarningAlert.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        case_ids = await _cases_behind(s, signal, w)
        if recent is not None:  # the same signal: no second alert
            if recent.acknowledged_at is None:
                await _link(s, recent.id, case_ids)
            return None
        dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
        values = dict(
            cell=signal.cell,
            part_number=signal.part_number,
            failure_mode=signal.failure_mode,
            customer_id=signal.customer_id,
            rule=signal.rule,
            window_start=w.start,
            window_end=w.end,
            observed=signal.observed,
            expected=signal.expected,
            upper_limit=signal.upper_limit,
            p_value=signal.p_value,
            exposure=signal.exposure,
            raised_on=now.astimezone(self.tz).date(),
            raised_at=now,
            case_id=case_ids[-1] if case_ids else None,
        )
        alert_id = (
            await s.execute(insert_or_skip(dialect, WarningAlert).values(**values).returning(WarningAlert.id))
        ).scalar_one_or_none()
        if alert_id is None:  # another instance opened it a moment ago
            return None
        await _link(s, alert_id, case_ids)
        if case_ids:
            case = await s.get(Case, case_ids[-1])
            assert case is not None
            emit(s, EventKind.EARLY_WARNING, case, now, details=await _details(s, alert_id, signal, w, len(case_ids)))
        else:
            log.warning("early warning: alert #%d on %s has no case to send its notice on", alert_id, signal.cell)
        log.info(
            "early warning: alert #%d on %s: %d failures, %.2f expected (p=%.2g, %s)",
            alert_id,
            signal.cell,
            signal.observed,
            signal.expected,
            signal.p_value,
            signal.rule,
        )
        return int(alert_id)

    async def acknowledge(self, actor: Actor, alert_id: int, decision: str, note: str = "") -> dict[str, Any]:
        if not actor.roles & ACKNOWLEDGERS:
            raise Forbidden(
                "acknowledging an early-warning alert needs the role quality, sales or approver",
                zh="确认早期预警需要质量、销售或审批人角色",
            )
        try:
            decided = Decision(decision)
        except ValueError:
            raise InvalidInput(
                f"unknown decision {decision!r}; one of: {', '.join(Decision)}",
                zh=f"未知的处理决定 {decision!r}；可选：{', '.join(Decision)}",
            ) from None
        note = (note or "").strip()
        if len(note) > 4000:
            raise InvalidInput("the note is longer than 4000 characters", zh="备注超过 4000 个字符")
        now = self.clock()
        async with self.db.unit_of_work() as s:
            alert = await s.get(WarningAlert, alert_id, with_for_update=True)
            if alert is None:
                raise NotFound(f"no early-warning alert #{alert_id}", zh=f"早期预警 #{alert_id} 不存在")
            if alert.acknowledged_at is not None:
                raise Conflict(
                    f"alert #{alert_id} was acknowledged by {alert.acknowledged_by}: {alert.decision}",
                    zh=f"预警 #{alert_id} 已由 {alert.acknowledged_by} 确认：{alert.decision}",
                )
            alert.acknowledged_by, alert.acknowledged_at = actor.label[:120], now
            alert.decision, alert.note = decided.value, note or None
            log.info("early warning: alert #%d acknowledged by %s: %s", alert_id, actor.label, decided.value)
            return await alert_detail(s, alert_id)


async def _cases_behind(s: AsyncSession, signal: Signal, w: Window) -> list[int]:
    stmt = (
        select(FieldFailure.case_id)
        .where(
            FieldFailure.part_number == signal.part_number,
            FieldFailure.failure_mode == signal.failure_mode,
            FieldFailure.failure_date >= w.start,
            FieldFailure.failure_date <= w.end,
            FieldFailure.case_id.is_not(None),
        )
        .group_by(FieldFailure.case_id)
        .order_by(FieldFailure.case_id)
        .limit(MAX_LINKED)
    )
    if signal.customer_id is not None:
        stmt = stmt.where(FieldFailure.customer_id == signal.customer_id)
    return [int(c) for c in (await s.execute(stmt)).scalars() if c is not None]


async def _link(s: AsyncSession, alert_id: int, case_ids: list[int]) -> None:
    if case_ids:
        dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
        await s.execute(
            insert_or_skip(dialect, WarningAlertCase), [{"alert_id": alert_id, "case_id": c} for c in case_ids]
        )


async def _details(s: AsyncSession, alert_id: int, signal: Signal, w: Window, cases: int) -> dict[str, Any]:
    """What the notice says (payload `details`, notifications/context.py)."""
    customer = await s.get(Customer, signal.customer_id) if signal.customer_id is not None else None
    return {
        "alert_id": alert_id,
        "part_number": signal.part_number,
        "failure_mode": signal.failure_mode or "-",
        "customer": customer.name if customer else "",
        "rule": signal.rule,
        "observed": signal.observed,
        "expected": f"{signal.expected:.2f}",
        "upper_limit": signal.upper_limit,
        "p_value": f"{signal.p_value:.2g}",
        "window_start": w.start.isoformat(),
        "window_end": w.end.isoformat(),
        "cases": cases,
    }


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_row(a: WarningAlert) -> dict[str, Any]:
    return {
        "id": a.id,
        "part_number": a.part_number,
        "failure_mode": a.failure_mode,
        "customer_id": a.customer_id,
        "rule": a.rule,
        "window_start": _iso(a.window_start),
        "window_end": _iso(a.window_end),
        "observed": a.observed,
        "expected": a.expected,
        "upper_limit": a.upper_limit,
        "p_value": a.p_value,
        "exposure_unit_days": a.exposure,
        "raised_at": _iso(a.raised_at),
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": _iso(a.acknowledged_at),
        "decision": a.decision,
        "note": a.note,
    }


async def alert_detail(s: AsyncSession, alert_id: int) -> dict[str, Any]:
    alert = await s.get(WarningAlert, alert_id)
    if alert is None:
        raise NotFound(f"no early-warning alert #{alert_id}", zh=f"早期预警 #{alert_id} 不存在")
    cases = await s.execute(
        select(Case.reference, Case.subject, Case.state)
        .join(WarningAlertCase, WarningAlertCase.case_id == Case.id)
        .where(WarningAlertCase.alert_id == alert_id)
        .order_by(Case.id)
    )
    row = alert_row(alert)
    row["cases"] = [{"reference": r, "subject": subj, "state": st} for r, subj, st in cases]
    return row


async def list_alerts(s: AsyncSession, open_only: bool, limit: int, offset: int) -> dict[str, Any]:
    stmt = select(WarningAlert)
    total = select(func.count()).select_from(WarningAlert)
    if open_only:
        stmt = stmt.where(WarningAlert.acknowledged_at.is_(None))
        total = total.where(WarningAlert.acknowledged_at.is_(None))
    found = (await s.execute(stmt.order_by(WarningAlert.id.desc()).limit(limit).offset(offset))).scalars()
    return {"items": [alert_row(a) for a in found], "total": int(await s.scalar(total) or 0)}
