"""Custom JSON-Schema formats for Chinese administrative data.

`cn-id-card` (GB 11643-1999), `cn-mobile`, `money` (yuan, non-negative, at most 2 decimals), `area-code`
(6/9/12 digits that exist in the area tree). Each checker returns True/False; the human message for a
failure lives in FORMAT_MESSAGES so the validator can attach it to the right field.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _
from jsonschema import FormatChecker

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dXx]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_AREA_RE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")

FORMAT_MESSAGES = {
    "cn-id-card": _("公民身份号码无效（应为18位，校验码正确，出生日期真实）。"),
    "cn-mobile": _("手机号码应为以1开头的11位数字。"),
    "money": _("金额应为不小于0的数，最多两位小数。"),
    "area-code": _("区划代码不存在。"),
    "date": _("日期格式应为 YYYY-MM-DD。"),
}


def id_card_parts(value: str) -> tuple[date, str] | None:
    """(birth date, "M"/"F") of a valid GB 11643-1999 number, or None when it is not valid.

    The address part is not checked against today's codes: codes change and old IDs stay valid.
    """
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    if ID_CHECK[total % 11] != value[17].upper():
        return None
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if birth.year < 1850:
        return None
    return birth, ("M" if int(value[16]) % 2 else "F")


def is_id_card(value: Any) -> bool:
    return not isinstance(value, str) or id_card_parts(value) is not None


def is_mobile(value: Any) -> bool:
    return not isinstance(value, str) or bool(_MOBILE_RE.match(value))


def is_money(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if not isinstance(value, int | float | str | Decimal):
        return True
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return False
    if not amount.is_finite() or amount < 0 or amount.adjusted() > 15:
        return False  # beyond any real amount (and beyond what quantize can represent)
    return amount == amount.quantize(Decimal("0.01"))


def is_area_code(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not _AREA_RE.match(value):
        return False
    from govflow.roles.models import Area

    return Area.objects.filter(code=value).exists()


def is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    from datetime import datetime

    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value or " " in value


def format_checker() -> FormatChecker:
    checker = FormatChecker(formats=("date", "email"))
    checker.checks("date-time")(is_datetime)
    checker.checks("cn-id-card")(is_id_card)
    checker.checks("cn-mobile")(is_mobile)
    checker.checks("money")(is_money)
    checker.checks("area-code")(is_area_code)
    return checker
