"""What staff and the document see of a case's 8D: its review team, each step's current version
with the earlier ones, what comes next; and the data the 8D document is filled from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.errors import NotFound
from cases.quality.eightd_steps import ORDER, RULES, D
from cases.queries.case_views import Row, Scope, iso, review_team, visible_case
from cases.store.models import Contact, EightDReport, EightDStep


def _version(row: EightDStep) -> Row:
    return {
        "version": row.version,
        "report_revision": row.report_revision,
        "content": row.content,
        "edited_by": row.edited_by,
        "edited_at": iso(row.edited_at),
        "signed_by": row.signed_by,
        "signed_role": row.signed_role,
        "signed_at": iso(row.signed_at),
        "customer_comment": row.customer_comment,
    }


async def eightd(s: AsyncSession, scope: Scope, reference: str) -> Row:
    """The case's 8D; NotFound when the case has none (or the reader may not see the case)."""
    case, customer_name, department = await visible_case(s, scope, reference)
    report = (await s.execute(select(EightDReport).where(EightDReport.case_id == case.id))).scalar_one_or_none()
    if report is None:
        raise NotFound(f"the case {case.reference} has no 8D yet", zh=f"案件 {case.reference} 尚无 8D")
    versions: dict[D, list[EightDStep]] = {d: [] for d in ORDER}
    for row in (
        await s.execute(select(EightDStep).where(EightDStep.case_id == case.id).order_by(EightDStep.version))
    ).scalars():
        versions[D(row.step)].append(row)
    steps = []
    next_step = None
    for d in ORDER:
        rows = versions[d]
        current = rows[-1] if rows else None
        if next_step is None and (current is None or current.signed_at is None):
            next_step = d.value
        steps.append(
            {
                "step": d.value,
                "title_en": RULES[d].title_en,
                "title_zh": RULES[d].title_zh,
                "current": _version(current) if current else None,
                "earlier": [_version(r) for r in rows[:-1]],
            }
        )
    contact_name = (await s.execute(select(Contact.name).where(Contact.id == case.contact_id))).scalar_one()
    return {
        "reference": case.reference,
        "subject": case.subject,
        "state": case.state,
        "severity": case.severity,
        "customer_name": customer_name,
        "contact_name": contact_name,
        "department": department,
        "part_number": case.part_number,
        "batch": case.batch,
        "quantity": case.quantity,
        "failure_mode": case.failure_mode,
        "received_at": iso(case.received_at),
        "revision": report.revision,
        "opened_by": report.opened_by,
        "opened_at": iso(report.opened_at),
        "returned_step": report.returned_step,
        "customer_comment": report.customer_comment,
        "returned_at": iso(report.returned_at),
        "team": await review_team(s, case.id),
        "steps": steps,
        "next_step": next_step,
    }
