import io

import pytest

from govflow.roles.importers import AreaImportError, areas_export, areas_import, read_rows
from govflow.roles.models import Area

GOOD = [
    {"code": "371727", "name": "定陶县", "level": "county", "parent_code": ""},
    {"code": "371727100", "name": "某镇", "level": "township", "parent_code": "371727"},
    {"code": "371727100201", "name": "某村", "level": "village", "parent_code": "371727100"},
]

BAD_ROWS = [
    ({"code": "37172", "name": "短", "level": "county", "parent_code": ""}, "code"),  # wrong length
    (
        {"code": "37172710A", "name": "字母", "level": "township", "parent_code": "371727"},
        "code",
    ),  # non-digit
    (
        {"code": "371727101202", "name": "错上级", "level": "village", "parent_code": "371727100"},
        "code",
    ),  # prefix
    (
        {"code": "371727100201", "name": "重复", "level": "village", "parent_code": "371727100"},
        "code",
    ),  # duplicate
    (
        {"code": "371727999201", "name": "无上级", "level": "village", "parent_code": "371727999"},
        "parent_code",
    ),
    (
        {"code": "371727100203", "name": "", "level": "village", "parent_code": "371727100"},
        "name",
    ),  # empty name
    ({"code": "371727100204", "name": "层级错", "level": "hamlet", "parent_code": "371727100"}, "level"),
    (
        {"code": "371727100205", "name": "上级层级错", "level": "village", "parent_code": "371727"},
        "parent_code",
    ),
    ({"code": "371728", "name": "县有上级", "level": "county", "parent_code": "371727"}, "parent_code"),
    ({"code": "371727102", "name": "缺上级", "level": "township", "parent_code": ""}, "parent_code"),
    ({"code": "371727103", "name": "长" * 101, "level": "township", "parent_code": "371727"}, "name"),
    ({"code": "", "name": "无代码", "level": "village", "parent_code": "371727100"}, "code"),
]


def test_area_import_creates_tree_when_rows_good(db):
    result = areas_import(rows=GOOD)
    assert (result.created, result.updated) == (3, 0)
    assert Area.objects.get(code="371727100201").parent_id == "371727100"
    again = areas_import(rows=GOOD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_area_import_reports_every_bad_row_and_imports_nothing_when_file_has_errors(db):
    rows = GOOD + [row for row, _col in BAD_ROWS]
    with pytest.raises(AreaImportError) as info:
        areas_import(rows=rows)
    errors = info.value.errors
    by_row = {e["row"]: e for e in errors}
    for index, (_row, column) in enumerate(BAD_ROWS):
        row_no = len(GOOD) + index + 2
        assert row_no in by_row, f"row {row_no} not reported"
        assert by_row[row_no]["column"] == column
        assert by_row[row_no]["message"]
    assert len(errors) == len(BAD_ROWS)
    assert Area.objects.count() == 0


def test_area_round_trip_through_csv_and_xlsx_when_exported(db):
    areas_import(rows=GOOD)
    for fmt, name in (("csv", "a.csv"), ("xlsx", "a.xlsx")):
        data = areas_export(fmt=fmt)
        rows = read_rows(io.BytesIO(data), filename=name)
        assert [r["code"] for r in rows] == ["371727", "371727100", "371727100201"]


def test_area_csv_reader_accepts_chinese_headers_when_given(db):
    text = "区划代码,名称,层级,上级代码\n371727,定陶县,县,\n371727100,某镇,乡镇,371727\n".encode("utf-8-sig")
    rows = read_rows(io.BytesIO(text), filename="x.csv")
    assert areas_import(rows=rows).created == 2
