"""CaseError gives its message in the reader's language; str() stays the English."""

from __future__ import annotations

import pytest

from cases.domain.enums import Language
from cases.domain.errors import CaseError, Conflict, InvalidInput, NotFound


@pytest.mark.parametrize(
    ("language", "expected"),
    [(Language.ZH, "批次号为 1 至 80 个字符"), ("zh", "批次号为 1 至 80 个字符"), (Language.EN, "a batch is 1 to 80")],
)
def test_text_is_the_message_in_the_readers_language(language: str, expected: str) -> None:
    exc = InvalidInput("a batch is 1 to 80 characters", zh="批次号为 1 至 80 个字符")
    assert exc.text(language).startswith(expected)


def test_str_stays_the_english_message_for_logs_and_the_api() -> None:
    exc = NotFound("there is no case FB-2026-000001", zh="没有案件 FB-2026-000001")
    assert str(exc) == "there is no case FB-2026-000001"
    assert exc.args == ("there is no case FB-2026-000001",)
    assert isinstance(exc, CaseError) and exc.code == "not_found"


def test_a_blank_chinese_text_falls_back_to_the_english() -> None:
    assert Conflict("taken", zh=" ").text(Language.ZH) == "taken"
