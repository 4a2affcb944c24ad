"""Masking of citizen ID numbers and mobile numbers in lists and exports.

Values are recognised by their shape, not by the field they sit in, so a field an administrator adds
tomorrow is masked too. The ID pattern deliberately ignores the GB 11643 check character: a mistyped ID
is still personal data and must be hidden all the same.
"""

from __future__ import annotations

import re
from typing import Any

# 6 address digits, birth date 18xx-20xx, 3 sequence digits, check digit or X; not part of a longer number.
ID_CARD_RE = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})(18|19|20)(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(\d{3}[\dXx])(?![0-9A-Za-z])"
)
# Mainland mobile numbers: 11 digits starting 13-19, optionally written +86 / 86 in front.
MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d{9})(?!\d)")


def mask_id_card(value: str) -> str:
    """Keep the first 4 and last 4 characters: 340521198203150026 -> 3405**********0026."""
    value = str(value)
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_mobile(value: str) -> str:
    """Keep the first 3 and last 4 digits: 13812345678 -> 138****5678."""
    value = str(value)
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def looks_like_id_card(value: Any) -> bool:
    return isinstance(value, str) and ID_CARD_RE.fullmatch(value.strip()) is not None


def looks_like_mobile(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return isinstance(value, str) and MOBILE_RE.fullmatch(value.strip()) is not None


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number found inside a piece of text (a comment, a name field...)."""
    text = ID_CARD_RE.sub(lambda m: mask_id_card(m.group(0)), text)
    return MOBILE_RE.sub(lambda m: m.group(0)[: -len(m.group(1))] + mask_mobile(m.group(1)), text)


def mask_value(value: Any) -> Any:
    """A copy of a JSON value with every ID and mobile number masked, at any depth."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and looks_like_mobile(value):
        return mask_mobile(str(value))
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    return value


def mask_diff(diff: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The diff with old and new values masked; paths are left as they are (they name fields, not people)."""
    return [
        {**change, "old": mask_value(change.get("old")), "new": mask_value(change.get("new"))}
        for change in diff
    ]


def contains_personal_data(value: Any) -> bool:
    return mask_value(value) != value
