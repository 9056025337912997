"""Refusals in the audit history: a person who tried to open or change a case they may not
(another department's, or a step their role may not take) leaves a line in that case's
history ("refused", who, what), so that the case's owners can see it was tried.

A reference that names no case leaves nothing (there is no history to write into)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.services.records import record_history
from cases.store.db import Database
from cases.store.models import Case

log = logging.getLogger(__name__)

REFUSED = "refused"  # the history action


class Refusals:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record(self, actor: Actor, reference: str, what: str) -> bool:
        """Append the refusal to the case's history; False when there is no such case."""
        reference = reference.strip().upper()
        async with self.db.unit_of_work() as s:
            case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one_or_none()
            if case is None:
                return False
            record_history(s, case=case, at=self.clock(), actor=actor, action=REFUSED, note=what[:500])
        log.warning("%s: refused %s to %s", reference, what, actor.label)
        return True
