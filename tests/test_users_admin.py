"""The admin's service calls on Users (cases/services/users.py) on both databases: disabling
ends the console sessions and stops the tokens at once; roles and department are replaced;
the last active admin stays."""

from __future__ import annotations

import pytest

from cases.domain.errors import Conflict, InvalidInput
from kefu.bootstrap import Kefu

PASSWORD = "correct horse battery"


async def test_disabling_ends_sessions_and_stops_tokens_enabling_restores_the_tokens(kefu: Kefu) -> None:
    await kefu.users.add("root", roles=["admin"])
    await kefu.users.add("wang", roles=["sales"], password=PASSWORD)
    token = (await kefu.users.create_token("wang")).token
    signed = await kefu.console_auth.sign_in("wang", PASSWORD, "127.0.0.1")
    assert signed.token and await kefu.console_auth.session(signed.token) is not None

    user = await kefu.users.set_active("wang", False, by="test")
    assert user.active is False
    assert await kefu.console_auth.session(signed.token) is None
    assert await kefu.users.authenticate_token(token) is None
    assert (await kefu.console_auth.sign_in("wang", PASSWORD, "127.0.0.1")).token is None

    await kefu.users.set_active("wang", True, by="test")
    assert await kefu.users.authenticate_token(token) is not None
    assert await kefu.console_auth.session(signed.token) is None  # the old session stays ended


async def test_change_replaces_roles_and_department_and_keeps_an_admin(kefu: Kefu) -> None:
    await kefu.users.add("root", roles=["admin"])
    await kefu.users.add("li", roles=["department"], department="production_equipment")
    changed = await kefu.users.change("li", roles=["quality", "department"], department="quality", by="test")
    assert changed.role_names == {"quality", "department"}
    assert changed.department is not None and changed.department.code == "quality"
    with pytest.raises(InvalidInput):
        await kefu.users.change("li", roles=["department"], department=None, by="test")
    with pytest.raises(Conflict):
        await kefu.users.change("root", roles=["sales"], department=None, by="test")
    await kefu.users.change("li", roles=["admin"], department=None, by="test")
    demoted = await kefu.users.change("root", roles=["sales"], department=None, by="test")  # li is an admin now
    assert demoted.role_names == {"sales"} and demoted.department is None


async def test_tokens_are_listed_without_secrets_and_revoked_once(kefu: Kefu) -> None:
    await kefu.users.add("wang", roles=["sales"])
    created = await kefu.users.create_token("wang", "erp")
    [info] = await kefu.users.tokens()
    assert info.username == "wang" and info.name == "erp" and info.revoked_at is None
    assert created.token not in repr(info)
    first = await kefu.users.revoke_token(info.id, by="test")
    again = await kefu.users.revoke_token(info.id, by="test")
    assert first.revoked_at is not None and again.revoked_at == first.revoked_at
    assert await kefu.users.authenticate_token(created.token) is None
