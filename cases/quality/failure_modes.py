"""The managed failure-mode list (zh / en): a case's and a warranty part's failure mode is one of
its codes, so that the repeat check and the reports count the same thing by the same name."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.domain.errors import Forbidden, InvalidInput
from cases.store.models import FailureMode

KEEPERS: frozenset[Role] = frozenset({Role.QUALITY, Role.ADMIN})
CODE = re.compile(r"[A-Z0-9][A-Z0-9_\-]{0,39}")  # NOISE, NOISE-BRAKE: as the warranty parts name them


def row_of(mode: FailureMode) -> dict[str, Any]:
    return {"code": mode.code, "name_zh": mode.name_zh, "name_en": mode.name_en, "active": mode.active}


async def all_modes(s: AsyncSession) -> list[dict[str, Any]]:
    return [row_of(m) for m in (await s.execute(select(FailureMode).order_by(FailureMode.code))).scalars()]


async def known(s: AsyncSession, code: str) -> str:
    """The code, if it names an active failure mode (codes are capitals: "wear" is WEAR); else
    the user's mistake."""
    mode = await s.get(FailureMode, code.strip().upper())
    if mode is None or not mode.active:
        raise InvalidInput(
            f"unknown failure mode {code!r}; see GET /api/v1/failure-modes",
            zh=f"未知的失效模式 {code!r}；参见 GET /api/v1/failure-modes",
        )
    return mode.code


async def put(
    s: AsyncSession, actor: Actor, code: str, name_zh: str, name_en: str, active: bool, now: datetime
) -> FailureMode:
    if not actor.roles & KEEPERS:
        raise Forbidden(
            "keeping the failure-mode list needs the role admin or quality", zh="维护失效模式清单需要管理员或质量角色"
        )
    if not CODE.fullmatch(code):
        raise InvalidInput(
            "a failure-mode code is capital letters, digits, - and _, at most 40 (NOISE-BRAKE)",
            zh="失效模式代码由大写字母、数字、- 和 _ 组成，最多 40 个字符（例如 NOISE-BRAKE）",
        )
    name_zh, name_en = name_zh.strip(), name_en.strip()
    if not name_zh or not name_en or len(name_zh) > 120 or len(name_en) > 120:
        raise InvalidInput(
            "a failure mode needs a Chinese and an English name, each at most 120 characters",
            zh="失效模式须有中文和英文名称，各不超过 120 个字符",
        )
    mode = await s.get(FailureMode, code, with_for_update=True)
    if mode is None:
        mode = FailureMode(code=code, name_zh=name_zh, name_en=name_en, active=active, updated_at=now)
        s.add(mode)
    mode.name_zh, mode.name_en, mode.active = name_zh, name_en, active
    mode.updated_by, mode.updated_at = actor.label[:120], now
    return mode
