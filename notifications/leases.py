"""Whose leases are dead: a heartbeat row per instance, and taking back the leases of the dead.

A delivery is leased for five minutes (notifications/dispatcher.py) and names its holder
(`deliveries.leased_by`, KEFU_INSTANCE_ID). Issue 17 saw 150 notices wait out the whole lease
after a SIGKILL during dispatch. Now the instance id is kept in the data folder, so a restart
knows its predecessor's leases and takes them back at once; and every instance beats a row in
`instances`, so that any instance takes back the leases of one whose heartbeat went stale
(a machine that died for good). Still at least once: a notice its dead holder sent but did
not record goes out again; none is lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select, update

from cases.domain.clock import Clock
from cases.services.wakeup import run_rounds
from cases.store.db import Database
from cases.store.models import Delivery, DeliveryStatus, Instance

log = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
# Several missed beats; with the beat, a dead instance's notices wait at most about 25 s.
STALE_AFTER = timedelta(seconds=20)


class Leases:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        instance_id: str,
        on_reclaim: Callable[[], None] = lambda: None,
        beat_seconds: float = BEAT_SECONDS,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.db = db
        self.clock = clock
        self.instance_id = instance_id
        self.on_reclaim = on_reclaim
        self.beat_seconds = beat_seconds
        self.stale_after = stale_after
        self._started = False

    async def run(self) -> None:
        await run_rounds(self.beat, asyncio.Event(), self.beat_seconds, "heartbeat", self.db.health)

    async def beat(self) -> int:
        """The first beat of this process takes back its predecessor's leases; every beat
        takes back those of instances whose heartbeat is stale. Returns how many."""
        now = self.clock()
        async with self.db.unit_of_work() as s:
            if not self._started:
                await s.execute(delete(Instance).where(Instance.id == self.instance_id))
                s.add(
                    Instance(
                        id=self.instance_id,
                        host=socket.gethostname()[:255],
                        pid=os.getpid(),
                        started_at=now,
                        heartbeat_at=now,
                    )
                )
                dead = [self.instance_id]  # a lease of ours from before this start is the predecessor's
            else:
                await s.execute(update(Instance).where(Instance.id == self.instance_id).values(heartbeat_at=now))
                dead = []
            stale = list(
                (
                    await s.execute(
                        select(Instance.id).where(
                            Instance.heartbeat_at < now - self.stale_after, Instance.id != self.instance_id
                        )
                    )
                ).scalars()
            )
            if stale:
                await s.execute(delete(Instance).where(Instance.id.in_(stale)))
            taken = 0
            if dead or stale:
                result = await s.execute(
                    update(Delivery)
                    .where(Delivery.leased_by.in_(dead + stale), Delivery.status == DeliveryStatus.PENDING)
                    .values(lease_until=None, leased_by=None)
                )
                taken = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if not self._started:
            self._started = True
            log.info("instance %s started (heartbeat every %.0f s)", self.instance_id, self.beat_seconds)
        for name in stale:
            log.warning("instance %s: heartbeat stale; its leases are taken back", name)
        if taken:
            log.warning("took back %d notice lease(s) of %s", taken, ", ".join(dead + stale))
            self.on_reclaim()
        return taken

    async def leave(self) -> None:
        """A clean stop: the row goes, nothing is left for the others to take back."""
        async with self.db.unit_of_work() as s:
            await s.execute(delete(Instance).where(Instance.id == self.instance_id))
