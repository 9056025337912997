"""Console passwords: argon2id, with the cost from the settings, hashed off the event loop.

The cost is RFC 9106's second recommended option by default (3 passes over 64 MiB, 4 lanes):
about a tenth of a second a hash on a server core. A hash carries its own parameters, so
verifying an old one still works after the settings change; `needs_rehash` tells the sign-in
to store a new hash at the settings' cost (raising the cost upgrades every account as it signs
in). Hashing and verifying run in a worker thread (argon2-cffi releases the GIL), never inside
a database transaction: a sign-in does not stall the web process's other requests, nor hold
SQLite's write lock for the tenth of a second.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cases.settings import Settings

LANES = 4  # argon2's parallelism; the memory cost is at least 8 KiB a lane


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=LANES)
        self._dummy: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(settings.password_time_cost, settings.password_memory_kib)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether password matches; with no hash (an unknown or unset account) a dummy one is
        checked all the same, so that the refusal takes as long as a wrong password does (no
        account enumeration by timing)."""
        if password_hash is None and self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))  # made at first need, not at start
        checked = password_hash or self._dummy
        try:
            await asyncio.to_thread(self._hasher.verify, checked, password)  # type: ignore[arg-type]
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
