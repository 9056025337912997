"""What can happen to a staff account or its API tokens, as the account trail records it."""

from __future__ import annotations

from enum import StrEnum


class AccountAction(StrEnum):
    USER_ADDED = "user_added"
    ROLES_CHANGED = "roles_changed"  # roles and/or department
    DISABLED = "disabled"
    ENABLED = "enabled"
    PASSWORD_RESET = "password_reset"  # by an admin: a set-up link, or a password typed at the server
    PASSWORD_CHANGED = "password_changed"  # by the person, signed in
    PASSWORD_SET = "password_set"  # by the person, through a one-time set-up link
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"


# Who acts when no person does: the first start's admin, tests, seeding.
SYSTEM_ACTOR = "system"
