"""Area tree import/export as CSV or XLSX (counties keep these lists in spreadsheets).

All or nothing: every row is checked first; any bad row means nothing is written, and each error names its
row number (the header is row 1) and column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.db import transaction
from django.utils.translation import gettext as _

from govflow.audit.services import audit_record
from govflow.errors import ValidationFailed

from .models import CODE_LENGTH, PARENT_LEVEL, Area

COLUMNS = ("code", "name", "level", "parent_code")
HEADER_ALIASES = {
    "代码": "code",
    "区划代码": "code",
    "名称": "name",
    "层级": "level",
    "上级代码": "parent_code",
}
LEVEL_ALIASES = {"县": "county", "乡镇": "township", "村": "village"}


@dataclass
class AreaImportResult:
    created: int
    updated: int
    unchanged: int


class AreaImportError(ValidationFailed):
    default_code = "area_import_invalid"


def read_rows(source: str | Path | BinaryIO, *, filename: str = "") -> list[dict[str, str]]:
    """Read rows from a CSV (UTF-8, with or without BOM) or XLSX file into dicts keyed by COLUMNS."""
    name = str(filename or getattr(source, "name", "") or source)
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            raw = fh.read()
    else:
        raw = source.read()
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
        table = [
            ["" if c is None else str(c).strip() for c in row] for row in sheet.iter_rows(values_only=True)
        ]
    else:
        text = raw.decode("utf-8-sig")
        table = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    if not table:
        raise AreaImportError(_("文件为空。"), errors=[{"row": 1, "message": _("文件为空。")}])
    header = [HEADER_ALIASES.get(h, h.lower()) for h in table[0]]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise AreaImportError(
            _("缺少列：%(cols)s") % {"cols": ", ".join(missing)},
            errors=[{"row": 1, "message": _("缺少列：%(cols)s") % {"cols": ", ".join(missing)}}],
        )
    rows = []
    for values in table[1:]:
        if not any(values):
            rows.append({})
            continue
        padded = values + [""] * (len(header) - len(values))
        rows.append({h: padded[i] for i, h in enumerate(header) if h in COLUMNS})
    return rows


def check_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Every problem in the rows, as [{"row": n, "column": c, "message": m}]; empty when all are good."""
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    file_levels: dict[str, str] = {}
    for row in rows:
        code = row.get("code", "")
        level = LEVEL_ALIASES.get(row.get("level", ""), row.get("level", ""))
        if code and level:
            file_levels.setdefault(code, level)
    existing = dict(Area.objects.values_list("code", "level"))

    def err(row_no: int, column: str, message: str) -> None:
        errors.append({"row": row_no, "column": column, "message": message})

    for row_no, row in enumerate(rows, start=2):
        if not row:
            continue
        code = row.get("code", "")
        name = row.get("name", "")
        level = LEVEL_ALIASES.get(row.get("level", ""), row.get("level", ""))
        parent = row.get("parent_code", "")
        if not name:
            err(row_no, "name", _("名称不能为空。"))
        elif len(name) > 100:
            err(row_no, "name", _("名称过长（最多100字）。"))
        if not code:
            err(row_no, "code", _("区划代码不能为空。"))
            continue
        if not code.isdigit() or not code.isascii():
            err(row_no, "code", _("区划代码“%(code)s”只能包含数字。") % {"code": code})
            continue
        if level not in CODE_LENGTH:
            err(
                row_no,
                "level",
                _("层级“%(level)s”无效，应为 county、township 或 village。") % {"level": level},
            )
            continue
        if len(code) != CODE_LENGTH[level]:
            err(
                row_no,
                "code",
                _("%(level)s级区划代码应为%(n)d位，“%(code)s”为%(m)d位。")
                % {"level": level, "n": CODE_LENGTH[level], "code": code, "m": len(code)},
            )
            continue
        if code in seen:
            err(
                row_no, "code", _("区划代码“%(code)s”与第%(row)d行重复。") % {"code": code, "row": seen[code]}
            )
            continue
        seen[code] = row_no
        if level == "county":
            if parent:
                err(row_no, "parent_code", _("县级区划不能有上级。"))
            continue
        if not parent:
            err(row_no, "parent_code", _("缺少上级区划代码。"))
            continue
        parent_level = file_levels.get(parent) or existing.get(parent)
        if parent_level is None:
            err(row_no, "parent_code", _("上级区划“%(code)s”不存在。") % {"code": parent})
            continue
        if parent_level != PARENT_LEVEL[level]:
            err(
                row_no,
                "parent_code",
                _("上级区划“%(code)s”的层级应为%(want)s，实为%(got)s。")
                % {"code": parent, "want": PARENT_LEVEL[level], "got": parent_level},
            )
            continue
        if not code.startswith(parent):
            err(
                row_no,
                "code",
                _("区划代码“%(code)s”不以上级代码“%(parent)s”开头。") % {"code": code, "parent": parent},
            )
    return errors


@transaction.atomic
def areas_import(*, rows: list[dict[str, str]], actor: Any = None) -> AreaImportResult:
    """Create or update the areas in `rows`, parents before children. Raises AreaImportError, writing nothing."""
    errors = check_rows(rows)
    if errors:
        raise AreaImportError(
            _("区划文件有%(n)d处错误，未导入任何数据。") % {"n": len(errors)}, errors=errors
        )
    created = updated = unchanged = 0
    good = [r for r in rows if r]
    good.sort(key=lambda r: len(r["code"]))
    existing = {a.code: a for a in Area.objects.filter(code__in=[r["code"] for r in good])}
    for row in good:
        level = LEVEL_ALIASES.get(row["level"], row["level"])
        parent = row.get("parent_code") or None
        area = existing.get(row["code"])
        if area is None:
            Area.objects.create(code=row["code"], name=row["name"], level=level, parent_id=parent)
            created += 1
        elif (area.name, area.level, area.parent_id) != (row["name"], level, parent):
            area.name, area.level, area.parent_id = row["name"], level, parent
            area.save()
            updated += 1
        else:
            unchanged += 1
    if created or updated:
        audit_record(
            action="areas.imported",
            actor=actor,
            data={"created": created, "updated": updated, "unchanged": unchanged},
        )
    return AreaImportResult(created, updated, unchanged)


def areas_export(*, fmt: str = "csv", root_code: str | None = None) -> bytes:
    """The area tree (or one subtree) as CSV or XLSX bytes, in the same columns import reads."""
    qs = Area.objects.order_by("code")
    if root_code:
        qs = qs.filter(code__startswith=root_code)
    data = [(a.code, a.name, a.level, a.parent_id or "") for a in qs]
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("areas")
        ws.append(list(COLUMNS))
        for r in data:
            ws.append(list(r))
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(data)
    return buf.getvalue().encode("utf-8")
