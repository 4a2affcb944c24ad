"""CSV and XLSX writers for event searches and reports: one row per event, readable and masked.

Both stream: the CSV is produced row by row into the response; the XLSX is written with openpyxl's
write-only mode (constant memory) into an anonymous temporary file that disappears when the response closes.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from .selectors import EventPresenter, EventView

# Excel's row limit is 1,048,576; leave room for the header.
XLSX_MAX_ROWS = 1_000_000
CSV_BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def event_headers() -> list[str]:
    return [
        _("序号"),
        _("时间"),
        _("操作人"),
        _("角色"),
        _("区划"),
        _("动作"),
        _("事项"),
        _("案件"),
        _("任务"),
        _("数据变更"),
        _("详情"),
        _("客户端地址"),
        _("哈希"),
    ]


def event_row(view: EventView) -> list[Any]:
    e = view.event
    changes = "；".join(f"{c.label}：{c.old} → {c.new}" for c in view.changes)
    details = "；".join(f"{k}：{v}" for k, v in view.details)
    return [
        e.seq,
        timezone.localtime(e.created).strftime("%Y-%m-%d %H:%M:%S"),
        e.actor_name,
        e.role_key,
        e.area_code,
        view.action_label,
        e.procedure_key,
        e.case_id if e.case_id is not None else "",
        e.task_id if e.task_id is not None else "",
        changes,
        details,
        e.client_address or "",
        e.hash,
    ]


def safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV/formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def event_rows(events: Iterable[Any], *, user: Any) -> Iterator[list[Any]]:
    presenter = EventPresenter(user=user)
    for view in presenter.present_all(events):
        yield [safe_cell(v) for v in event_row(view)]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The CSV text in pieces, starting with a UTF-8 byte-order mark so Excel reads the Chinese correctly."""
    writer = csv.writer(_Echo())
    yield CSV_BOM + writer.writerow(headers)
    for row in rows:
        yield writer.writerow(row)


def _clean_xlsx(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def xlsx_file(sheets: list[tuple[str, list[str], Iterable[list[Any]]]]) -> IO[bytes]:
    """Write sheets of (title, headers, rows) into a temporary XLSX file and return it rewound."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(headers)
        for count, row in enumerate(rows, start=1):
            if count > XLSX_MAX_ROWS:
                sheet.append([_("结果超过 %(n)s 行，其余未导出，请缩小查询范围。") % {"n": XLSX_MAX_ROWS}])
                break
            sheet.append([_clean_xlsx(v) for v in row])
    # Not a context manager: FileResponse closes the file after sending it, which deletes it.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    workbook.save(handle)
    handle.seek(0)
    return handle
