"""Console passwords: argon2id at the settings' cost, checked off the event loop, upgraded to a
changed cost at the next sign-in. (The other tests hash at the lowest cost: tests/conftest.py.)"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from cases.services.passwords import Passwords
from cases.services.sessions import ConsoleAuth, Outcome
from cases.settings import Settings
from cases.store.models import User
from kefu.bootstrap import Kefu

PASSWORD = "correct horse battery"


def test_the_default_cost_is_rfc_9106s_second_option() -> None:
    settings = Settings.from_env({})
    assert (settings.password_time_cost, settings.password_memory_kib) == (3, 65536)


async def test_a_hash_carries_its_cost_and_verifies_only_its_password() -> None:
    passwords = Passwords(time_cost=2, memory_kib=256)
    stored = await passwords.hash(PASSWORD)
    assert stored.startswith("$argon2id$") and "m=256,t=2,p=4" in stored
    assert await passwords.verify(stored, PASSWORD)
    assert not await passwords.verify(stored, PASSWORD + "!")
    assert not await passwords.verify(None, PASSWORD)  # no account: refused after a dummy check
    assert not await passwords.verify("not a hash", PASSWORD)
    assert not passwords.needs_rehash(stored)
    assert Passwords(time_cost=3, memory_kib=256).needs_rehash(stored)


async def test_a_raised_cost_rehashes_the_password_at_the_next_sign_in(kefu: Kefu) -> None:
    await kefu.users.add("gm", roles=["approver"], password=PASSWORD)

    async def stored() -> str:
        async with kefu.db.reader() as s:
            return str((await s.execute(select(User.password_hash).where(User.username == "gm"))).scalar_one())

    before = await stored()
    settings = replace(kefu.settings, password_time_cost=2, password_memory_kib=64)
    auth = ConsoleAuth(kefu.db, kefu.clock, settings, Passwords.from_settings(settings))
    assert (await auth.sign_in("gm", "wrong password", "192.0.2.1")).outcome is Outcome.WRONG
    assert await stored() == before  # a wrong password changes nothing
    assert (await auth.sign_in("gm", PASSWORD, "192.0.2.1")).outcome is Outcome.SIGNED_IN
    after = await stored()
    assert after != before and "m=64,t=2,p=4" in after
    assert (await auth.sign_in("gm", PASSWORD, "192.0.2.1")).outcome is Outcome.SIGNED_IN
    assert await stored() == after  # at the settings' cost already: not hashed again
