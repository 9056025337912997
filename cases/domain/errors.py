"""The case service's two levels of errors: the user's mistake (CaseError and its kinds)
and everything else (our fault). Each boundary maps them once: HTTP status, SMTP code,
bot reply, quarantined row.

A refusal is written for the person who made the request, in both of kefu's languages: the
raise site gives the English sentence and, next to it, the Chinese one (`zh=`), so the two are
written and reviewed together. `str(exc)` is the English, as logs, the REST API's `message` and
the CLI have always shown it; a boundary that knows its reader's language asks `exc.text(...)`.
tests/test_error_texts.py walks the source and fails on a raise without its Chinese text.
"""

from __future__ import annotations

from cases.domain.enums import Language


class CaseError(Exception):
    """A request we refuse; the message is written for the person who made it."""

    code = "invalid"

    def __init__(self, en: str, /, *, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh

    def text(self, language: Language | str) -> str:
        """The message in `language`: English for "en", Chinese otherwise (kefu's default, as
        the console's `translate` has it); the English where the Chinese is blank."""
        if str(language) == Language.EN or not self.zh.strip():
            return self.en
        return self.zh


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
