"""Service agreements (procedure 6.1.1, 6.2.8): by when each step of a case is owed, counted
from the customer's notice.

A term is a step and a time: `first_answer=24h` (clock hours), `closure=30d` (calendar days),
`root_cause=5wd` (working days on the calendar: the end of the fifth working day after the
day of the notice). A customer's own terms win over the defaults (KEFU_AGREEMENT_DEFAULTS);
a deadline the customer set on the case (`customer_deadline`) wins over the closure term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.domain.errors import Forbidden, InvalidInput, NotFound
from cases.quality.calendar import WorkingCalendar
from cases.store.models import AgreementTerm, Customer


class Step(StrEnum):
    """The steps a customer times, in the order they fall due."""

    FIRST_ANSWER = "first_answer"  # the first answer to the customer (approval or 不做处理)
    CONTAINMENT = "containment"  # interim action (8D D3)
    ROOT_CAUSE = "root_cause"  # cause analysis (8D D4)
    CLOSURE = "closure"  # corrective action answered to the customer (8D D8)


class Unit(StrEnum):
    HOURS = "h"
    DAYS = "d"
    WORKING_DAYS = "wd"


# Who agrees terms with the customer: Sales (the archive) and the approvers.
AGREEMENT_KEEPERS: frozenset[Role] = frozenset({Role.SALES, Role.APPROVER, Role.ADMIN})
MAX_AMOUNT = {Unit.HOURS: 24 * 366, Unit.DAYS: 366, Unit.WORKING_DAYS: 250}
_TERM = re.compile(r"\s*([a-z_]+)\s*=\s*(\d{1,4})\s*(wd|h|d)\s*")


@dataclass(frozen=True, slots=True)
class Term:
    step: Step
    amount: int
    unit: Unit

    def due(self, notice: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
        if self.unit is Unit.HOURS:
            return notice + timedelta(hours=self.amount)
        if self.unit is Unit.DAYS:
            return notice + timedelta(days=self.amount)
        return calendar.end_of_working_days(notice, self.amount, tz)

    def text(self) -> str:
        return f"{self.amount}{self.unit.value}"


def term(step: str, amount: int, unit: str) -> Term:
    """A checked term, or InvalidInput naming what is wrong."""
    try:
        step_ = Step(step)
    except ValueError:
        raise InvalidInput(
            f"unknown step {step!r}; one of: {', '.join(Step)}", zh=f"未知的步骤 {step!r}；可选：{', '.join(Step)}"
        ) from None
    try:
        unit_ = Unit(unit)
    except ValueError:
        raise InvalidInput(
            f"unknown unit {unit!r}; one of: h (hours), d (days), wd (working days)",
            zh=f"未知的单位 {unit!r}；可选：h（小时）、d（日历日）、wd（工作日）",
        ) from None
    if not 1 <= amount <= MAX_AMOUNT[unit_]:
        raise InvalidInput(
            f"{step}: the amount must be between 1 and {MAX_AMOUNT[unit_]} {unit_.value}, got {amount}",
            zh=f"{step}：时限须在 1 至 {MAX_AMOUNT[unit_]} {unit_.value} 之间，实际为 {amount}",
        )
    return Term(step_, amount, unit_)


def parse_terms(text: str) -> dict[Step, Term]:
    """`first_answer=24h,root_cause=5wd` (KEFU_AGREEMENT_DEFAULTS)."""
    found: dict[Step, Term] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        match = _TERM.fullmatch(part)
        if not match:
            raise InvalidInput(
                f"a term looks like root_cause=5wd, got {part!r}",
                zh=f"时限条款的格式如 root_cause=5wd，实际为 {part!r}",
            )
        t = term(match.group(1), int(match.group(2)), match.group(3))
        found[t.step] = t
    return found


async def terms_for(s: AsyncSession, customer_id: int, defaults: dict[Step, Term]) -> dict[Step, tuple[Term, str]]:
    """Each step's term and where it comes from ("agreement" or "default")."""
    own = {
        Step(r.step): Term(Step(r.step), r.amount, Unit(r.unit))
        for r in (await s.execute(select(AgreementTerm).where(AgreementTerm.customer_id == customer_id))).scalars()
    }
    result: dict[Step, tuple[Term, str]] = {step: (t, "default") for step, t in defaults.items()}
    result.update({step: (t, "agreement") for step, t in own.items()})
    return result


async def agreement_view(s: AsyncSession, customer_id: int, defaults: dict[Step, Term]) -> dict[str, object]:
    if await s.get(Customer, customer_id) is None:
        raise NotFound(f"no customer #{customer_id}", zh=f"客户 #{customer_id} 不存在")
    terms = await terms_for(s, customer_id, defaults)
    return {
        "customer_id": customer_id,
        "terms": [
            {"step": step.value, "amount": t.amount, "unit": t.unit.value, "source": source}
            for step in Step
            if step in terms
            for t, source in [terms[step]]
        ],
    }


async def replace_terms(s: AsyncSession, actor: Actor, customer_id: int, terms: list[Term], now: datetime) -> None:
    """The customer's agreement becomes `terms` (an empty list: the defaults again)."""
    if not actor.roles & AGREEMENT_KEEPERS:
        raise Forbidden(
            "keeping service agreements needs the role sales, approver or admin",
            zh="维护服务协议需要销售、审批人或管理员角色",
        )
    if await s.get(Customer, customer_id, with_for_update=True) is None:
        raise NotFound(f"no customer #{customer_id}", zh=f"客户 #{customer_id} 不存在")
    steps = [t.step for t in terms]
    if len(steps) != len(set(steps)):
        raise InvalidInput("each step may be agreed once", zh="每个步骤只能约定一次")
    await s.execute(delete(AgreementTerm).where(AgreementTerm.customer_id == customer_id))
    for t in terms:
        s.add(
            AgreementTerm(
                customer_id=customer_id,
                step=t.step.value,
                amount=t.amount,
                unit=t.unit.value,
                updated_by=actor.label,
                updated_at=now,
            )
        )
