"""The chat conversation keeps what the customer typed (issue 13, item 12): the vehicle answer
with a model and a VIN reaches the case whole, not re-parsed down to the model."""

from __future__ import annotations

import pytest

from bots.complaint import case_text
from cases.domain.classify import guess
from cases.domain.enums import Language
from cases.store.models import TelegramConversation


@pytest.mark.parametrize("language", [Language.ZH, Language.EN])
@pytest.mark.parametrize(
    "typed", ["东风天龙 VIN LGAX4C351K1234567", "LGAX4C351K1234567", "解放J6P", "Foton Auman, VIN: LFWSRXRJ0K1E12345"]
)
def test_the_vehicle_answer_reaches_the_case_as_typed(language: Language, typed: str) -> None:
    conv = TelegramConversation(
        language=language,
        data={
            "what": "刹车片异响",
            "part_number": "3501-00123",
            "batch": "B2026-1107",
            "quantity": "4",
            "vehicle": typed,
        },
    )
    subject, text = case_text(conv, 10_000_000)
    g = guess(subject, text)
    assert (g.vehicle, g.part_number, g.batch, g.quantity) == (typed, "3501-00123", "B2026-1107", 4)


def test_a_mail_still_has_its_vin_or_model_found() -> None:
    assert guess("异响", "车架号 LGAX4C351K1234567 的车异响").vehicle == "LGAX4C351K1234567"
    assert guess("异响", "车型：解放J6P\n异响").vehicle == "解放J6P"
