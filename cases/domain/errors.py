"""The case service's two levels of errors: the user's mistake (CaseError and its kinds)
and everything else (our fault). Each boundary maps them once: HTTP status, SMTP code,
bot reply, quarantined row."""

from __future__ import annotations


class CaseError(Exception):
    """A request we refuse; the message is written for the person who made it."""

    code = "invalid"


class NotFound(CaseError):
    code = "not_found"


class Forbidden(CaseError):
    code = "forbidden"


class IllegalTransition(CaseError):
    code = "illegal_transition"


class InvalidInput(CaseError):
    code = "invalid_input"


class Conflict(CaseError):
    code = "conflict"
