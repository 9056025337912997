"""The early warning's editable thresholds: one table, the most specific row wins.

| part_number | failure_mode | applies to                                  |
|-------------|--------------|---------------------------------------------|
| `3501-00123`| `noise`      | that part with that failure mode             |
| `3501-00123`| `*`          | that part, any failure mode                  |
| `*`         | `noise`      | any part with that failure mode              |
| `*`         | `*`          | everything else (else the defaults below)    |

`alpha` is the false-alarm probability a cell's count must beat (the exact Poisson tail,
cases/field/poisson.py); `min_count` the fewest failures in the window that may signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.domain.errors import Forbidden, InvalidInput, NotFound
from cases.store.models import WarningThreshold
from cases.store.upsert import insert_or_skip

ANY = "*"
# One false alarm in 100,000 cell-scans: a plant with 300 part x failure-mode cells and their
# customer cells, scanned monthly, sees about one in ten years (docs/field-data.md).
DEFAULT_ALPHA = 1e-5
DEFAULT_MIN_COUNT = 3
EDITORS: frozenset[Role] = frozenset({Role.QUALITY, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Rule:
    alpha: float = DEFAULT_ALPHA
    min_count: int = DEFAULT_MIN_COUNT


class Rules:
    """The table read once per scan."""

    def __init__(self, rows: dict[tuple[str, str], Rule]) -> None:
        self.rows = rows

    def for_cell(self, part_number: str, failure_mode: str) -> Rule:
        for key in ((part_number, failure_mode), (part_number, ANY), (ANY, failure_mode), (ANY, ANY)):
            if key in self.rows:
                return self.rows[key]
        return Rule()

    @property
    def least_count(self) -> int:
        """No cell with fewer failures in the window can signal under any row."""
        return min([DEFAULT_MIN_COUNT, *(r.min_count for r in self.rows.values())])


async def read_rules(s: AsyncSession) -> Rules:
    rows = (await s.execute(select(WarningThreshold))).scalars()
    return Rules({(r.part_number, r.failure_mode): Rule(r.alpha, r.min_count) for r in rows})


def threshold_row(r: WarningThreshold) -> dict[str, object]:
    return {
        "part_number": r.part_number,
        "failure_mode": r.failure_mode,
        "alpha": r.alpha,
        "min_count": r.min_count,
        "updated_by": r.updated_by,
        "updated_at": r.updated_at.isoformat(),
    }


async def list_thresholds(s: AsyncSession) -> list[dict[str, object]]:
    found = (
        await s.execute(select(WarningThreshold).order_by(WarningThreshold.part_number, WarningThreshold.failure_mode))
    ).scalars()
    return [threshold_row(r) for r in found]


def _key(value: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise InvalidInput(
            f"{what} is 1 to {limit} characters, or * for any", zh=f"{what} 须为 1 至 {limit} 个字符，或用 * 表示任意"
        )
    return value


async def put_threshold(
    s: AsyncSession, actor: Actor, part_number: str, failure_mode: str, alpha: float, min_count: int, now: datetime
) -> dict[str, object]:
    if not actor.roles & EDITORS:
        raise Forbidden(
            "editing the early-warning thresholds needs the role quality or admin",
            zh="编辑早期预警阈值需要质量或管理员角色",
        )
    part_number, failure_mode = _key(part_number, "the part number", 80), _key(failure_mode, "the failure mode", 40)
    if not 0.0 < alpha < 0.5:
        raise InvalidInput(
            "alpha, the false-alarm probability, is above 0 and below 0.5 (e.g. 0.00001)",
            zh="alpha（误报概率）须大于 0 且小于 0.5（例如 0.00001）",
        )
    if not 1 <= min_count <= 100000:
        raise InvalidInput("min_count is a whole number from 1 to 100000", zh="min_count 须为 1 至 100000 之间的整数")
    values = dict(alpha=alpha, min_count=min_count, updated_by=actor.label[:120], updated_at=now)
    dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
    stmt = insert_or_skip(dialect, WarningThreshold).values(
        part_number=part_number, failure_mode=failure_mode, **values
    )
    await s.execute(stmt)
    row = (
        await s.execute(
            select(WarningThreshold)
            .where(WarningThreshold.part_number == part_number, WarningThreshold.failure_mode == failure_mode)
            .with_for_update()
        )
    ).scalar_one()
    for name, value in values.items():
        setattr(row, name, value)
    return threshold_row(row)


async def delete_threshold(s: AsyncSession, actor: Actor, part_number: str, failure_mode: str) -> None:
    if not actor.roles & EDITORS:
        raise Forbidden(
            "editing the early-warning thresholds needs the role quality or admin",
            zh="编辑早期预警阈值需要质量或管理员角色",
        )
    gone = await s.execute(
        delete(WarningThreshold).where(
            WarningThreshold.part_number == part_number, WarningThreshold.failure_mode == failure_mode
        )
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise NotFound(
            f"no threshold for part {part_number} and failure mode {failure_mode}",
            zh=f"零件 {part_number}、失效模式 {failure_mode} 没有设定阈值",
        )
