from datetime import date

import pytest

from govflow.forms.formats import format_checker, id_card_parts, is_area_code, is_mobile, is_money


@pytest.mark.parametrize(
    ("number", "parts"),
    [
        ("11010519491231002X", (date(1949, 12, 31), "F")),  # DOMAIN: valid, female
        ("11010519491231002x", (date(1949, 12, 31), "F")),  # lower-case check character
        ("440524188001010014", (date(1880, 1, 1), "M")),  # DOMAIN: valid, male
        ("340521198203150026", None),  # DOMAIN: invalid check character
        ("110105194912310021", None),  # wrong check character
        ("110105194902300020", None),  # 30 February
        ("11010519491231002", None),  # too short
        ("1101051949123100AX", None),  # letters
    ],
)
def test_id_card_checksum_and_birth_date_follow_gb11643_when_checked(number, parts):
    assert id_card_parts(number) == parts


@pytest.mark.parametrize(
    ("value", "ok"), [("13800138000", True), ("12800138000", False), ("1380013800", False)]
)
def test_mobile_format_when_checked(value, ok):
    assert is_mobile(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (35000, True),
        ("490.00", True),
        (0.1, True),
        ("12.345", False),
        (-1, False),
        ("abc", False),
        (True, False),
    ],
)
def test_money_is_nonnegative_with_two_decimals_when_checked(value, ok):
    assert is_money(value) is ok


def test_area_code_must_exist_in_tree_when_checked(county):
    assert is_area_code("371727100201")
    assert not is_area_code("371727100299")
    assert not is_area_code("37172710020")


def test_format_checker_knows_custom_formats_when_built():
    checker = format_checker()
    assert checker.conforms("11010519491231002X", "cn-id-card")
    assert not checker.conforms("340521198203150026", "cn-id-card")
    assert not checker.conforms("2013-02-30", "date")
