"""Phone and fax numbers as E.164 (`+862784561234`), China the default region.

Staff type numbers as callers say them (`027-8456 1234`, `(027) 84561234`, `0086 27 ...`,
`138 0013 8000`) and fax gateways write them as the calling machine sent them; matching a
contact needs one spelling. Identities of kind phone and fax are stored normalised.
"""

from __future__ import annotations

import phonenumbers

from cases.domain.enums import Channel
from cases.domain.errors import InvalidInput
from cases.store.models import Identity

DEFAULT_REGION = "CN"
NUMBER_KINDS = frozenset({Channel.PHONE, Channel.FAX})


class BadNumber(InvalidInput):
    """The text is not a telephone number we can use."""


class EmptyIdentity(InvalidInput):
    """No number or address given."""


class BadAddress(InvalidInput):
    """The text is not an email address."""


class IdentityTooLong(InvalidInput):
    """Longer than the column keeps."""


def normalise_number(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164, or BadNumber with a sentence for the person who typed it."""
    text = (raw or "").strip()
    if text.startswith("00"):  # the international prefix of China and most of Europe
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise BadNumber(f"{raw!r} is not a telephone number", zh=f"{raw!r} 不是电话号码") from None
    if not phonenumbers.is_possible_number(number):
        raise BadNumber(
            f"{raw!r} is not a possible telephone number (too short or too long)",
            zh=f"{raw!r} 不是有效的电话号码（过短或过长）",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


IDENTITY_LENGTH: int = Identity.value.type.length  # 254; PostgreSQL refuses a longer value


def normalise_identity(kind: Channel, value: str, region: str = DEFAULT_REGION) -> str:
    """The stored form of an identity: E.164 for numbers, lower case for addresses, stripped otherwise."""
    value = (value or "").strip()
    if not value:
        raise EmptyIdentity(f"the {kind.value} identity must not be empty", zh=f"{kind.value} 联系方式不能为空")
    if kind in NUMBER_KINDS:
        return normalise_number(value, region)
    if kind is Channel.EMAIL:
        if "@" not in value or " " in value:
            raise BadAddress(f"{value!r} is not an email address", zh=f"{value!r} 不是电子邮件地址")
        value = value.lower()
    if len(value) > IDENTITY_LENGTH:
        raise IdentityTooLong(
            f"the {kind.value} identity is {len(value)} characters long; kefu keeps at most "
            f"{IDENTITY_LENGTH} (the longest email address SMTP allows)",
            zh=f"{kind.value} 联系方式长 {len(value)} 个字符；kefu 最多保存 {IDENTITY_LENGTH} 个字符（SMTP 允许的最长电子邮件地址）",
        )
    return value
