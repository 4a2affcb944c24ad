"""Render a document template (procedure data) with case variables into PDF bytes.

A template is JSON: {"key", "title", "per" (optional list variable: one document per item, bound as
`item`), "filename", "blocks": [{"kind": "title"|"subtitle"|"right"|"paragraph"|"table"|"signature"|"spacer",
"text"|"rows"}]}. Text may hold placeholders `${expression}` or `${expression|filter}`, evaluated with the
platform's expression language (never Python); filters format values for official paper (money with
thousands separators, 人民币大写, 2013年3月4日). Chinese text uses reportlab's built-in CID font
STSong-Light, so no font file has to be installed for the PDF to be correct.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from govflow.errors import ValidationFailed
from govflow.expressions import ExpressionError, compile_expression

BLOCK_KINDS = {"title", "subtitle", "right", "paragraph", "table", "signature", "spacer"}


class DocumentError(ValidationFailed):
    default_code = "document_invalid"


def _to_decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DocumentError(_("“%(v)s”不是金额。") % {"v": value})


def fmt_money(value: Any) -> str:
    amount = _to_decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{amount:,.2f}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_SECTIONS = ["", "万", "亿", "万亿"]


def _integer_upper(n: int) -> str:
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    result = ""
    zero_pending = False
    for gi in range(len(groups) - 1, -1, -1):
        g = groups[gi]
        if g == 0:
            zero_pending = True
            continue
        if result and (zero_pending or g < 1000):
            result += "零"
        zero_pending = False
        text = ""
        zero = False
        for pos in (3, 2, 1, 0):
            digit = g // 10**pos % 10
            if digit == 0:
                zero = bool(text)
                continue
            if zero:
                text += "零"
                zero = False
            text += _DIGITS[digit] + _UNITS[pos]
        result += text + _SECTIONS[gi]
    return result


def fmt_rmb_upper(value: Any) -> str:
    """Amount in 人民币大写 as printed on official notices: 35000 -> 叁万伍仟元整; 490.5 -> 肆佰玖拾元伍角."""
    amount = _to_decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount < 0:
        return "负" + fmt_rmb_upper(-amount)
    yuan = int(amount)
    jiao, fen = divmod(int((amount - yuan) * 100), 10)
    if jiao == 0 and fen == 0:
        return _integer_upper(yuan) + "元整"
    result = _integer_upper(yuan) + "元" if yuan else ""
    if jiao:
        result += _DIGITS[jiao] + "角"
    elif yuan:
        result += "零"
    if fen:
        result += _DIGITS[fen] + "分"
    return result


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DocumentError(_("“%(v)s”不是日期。") % {"v": value})


def fmt_cn_date(value: Any) -> str:
    d = _to_date(value)
    return f"{d.year}年{d.month}月{d.day}日"


FILTERS: dict[str, Callable[[Any], str]] = {
    "money": fmt_money,
    "rmb_upper": fmt_rmb_upper,
    "cn_date": fmt_cn_date,
    "date": lambda v: _to_date(v).isoformat(),
    "text": lambda v: "" if v is None else str(v),
}


def _split_placeholders(text: str) -> list[tuple[str, str | None, str | None]]:
    """[(literal, expression, filter)] pieces of a text with ${...} placeholders (quotes respected)."""
    pieces: list[tuple[str, str | None, str | None]] = []
    i = 0
    literal = ""
    while i < len(text):
        if text.startswith("${", i):
            j = i + 2
            quote = ""
            while j < len(text):
                ch = text[j]
                if quote:
                    if ch == "\\":
                        j += 1
                    elif ch == quote:
                        quote = ""
                elif ch in "\"'":
                    quote = ch
                elif ch == "}":
                    break
                j += 1
            if j >= len(text):
                raise DocumentError(_("占位符“%(t)s”缺少右括号。") % {"t": text[i : i + 30]})
            inner = text[i + 2 : j].strip()
            filt = None
            bar = inner.rfind("|")
            if bar > 0 and inner[bar - 1] != "|" and inner[bar + 1 :].strip() in FILTERS:
                filt = inner[bar + 1 :].strip()
                inner = inner[:bar].strip()
            pieces.append((literal, inner, filt))
            literal = ""
            i = j + 1
        else:
            literal += text[i]
            i += 1
    pieces.append((literal, None, None))
    return pieces


def fill(text: str, context: Mapping[str, Any]) -> str:
    out = []
    for literal, expr, filt in _split_placeholders(text):
        out.append(literal)
        if expr is None:
            continue
        try:
            value = compile_expression(expr).evaluate(context)
        except ExpressionError as exc:
            raise DocumentError(
                _("文书占位符“%(e)s”无法求值：%(m)s") % {"e": expr, "m": exc.message},
                code="document_placeholder",
            )
        out.append(FILTERS[filt](value) if filt else ("" if value is None else str(value)))
    return "".join(out)


def check_template(template: Any, *, path: str = "") -> list[dict[str, Any]]:
    """Problems in a document template (shape, block kinds, placeholders that do not compile)."""
    errors: list[dict[str, Any]] = []
    if not isinstance(template, dict):
        return [{"path": path, "message": _("文书模板应为对象。")}]
    for key in ("key", "title", "blocks"):
        if key not in template:
            errors.append({"path": f"{path}/{key}", "message": _("缺少“%(k)s”。") % {"k": key}})
    texts: list[tuple[str, str]] = []
    if isinstance(template.get("filename"), str):
        texts.append((f"{path}/filename", template["filename"]))
    for i, block in enumerate(template.get("blocks") or []):
        bpath = f"{path}/blocks/{i}"
        if not isinstance(block, dict) or block.get("kind") not in BLOCK_KINDS:
            errors.append({"path": f"{bpath}/kind", "message": _("未知的段落类型。")})
            continue
        if block["kind"] == "table":
            for r, row in enumerate(block.get("rows") or []):
                for c, cell in enumerate(row):
                    texts.append((f"{bpath}/rows/{r}/{c}", str(cell)))
        elif block["kind"] != "spacer":
            texts.append((f"{bpath}/text", str(block.get("text", ""))))
    for tpath, text in texts:
        try:
            for _lit, expr, _f in _split_placeholders(text):
                if expr is not None:
                    compile_expression(expr)
        except DocumentError as exc:
            errors.append({"path": tpath, "message": exc.message})
        except ExpressionError as exc:
            errors.append({"path": tpath, "message": exc.message})
    return errors


@dataclass
class RenderedDocument:
    key: str
    title: str
    filename: str
    pdf: bytes
    text: str  # the same content as plain text (search, tests, accessibility)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def render(template: Mapping[str, Any], context: Mapping[str, Any]) -> list[RenderedDocument]:
    """One document, or one per item of template["per"] (bound as `item`, with `item_index`)."""
    per = template.get("per")
    if per:
        try:
            items = compile_expression(per).evaluate(context)
        except ExpressionError as exc:
            raise DocumentError(
                _("文书“%(k)s”的 per 无法求值：%(m)s") % {"k": template.get("key"), "m": exc.message}
            )
        if not isinstance(items, list):
            raise DocumentError(_("文书“%(k)s”的 per 应为列表。") % {"k": template.get("key")})
        return [
            _render_one(template, {**context, "item": item, "item_index": index})
            for index, item in enumerate(items)
        ]
    return [_render_one(template, context)]


def _render_one(template: Mapping[str, Any], context: Mapping[str, Any]) -> RenderedDocument:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    styles = {
        "title": ParagraphStyle(
            "t", fontName=font, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=6 * mm
        ),
        "subtitle": ParagraphStyle(
            "s", fontName=font, fontSize=14, leading=22, alignment=TA_CENTER, spaceAfter=4 * mm
        ),
        "right": ParagraphStyle(
            "r", fontName=font, fontSize=12, leading=20, alignment=TA_RIGHT, spaceAfter=3 * mm
        ),
        "paragraph": ParagraphStyle(
            "p",
            fontName=font,
            fontSize=12.5,
            leading=22,
            alignment=TA_JUSTIFY,
            firstLineIndent=25,
            spaceAfter=2 * mm,
            wordWrap="CJK",
        ),
        "signature": ParagraphStyle(
            "g", fontName=font, fontSize=12.5, leading=22, alignment=TA_RIGHT, spaceBefore=10 * mm
        ),
        "cell": ParagraphStyle("c", fontName=font, fontSize=11.5, leading=18, wordWrap="CJK"),
    }
    flow: list[Any] = []
    lines: list[str] = []
    for block in template.get("blocks", []):
        kind = block["kind"]
        if kind == "spacer":
            flow.append(Spacer(1, float(block.get("height_mm", 6)) * mm))
            continue
        if kind == "table":
            rows = [[fill(str(cell), context) for cell in row] for row in block.get("rows", [])]
            lines.extend(" | ".join(r) for r in rows)
            table = Table(
                [[Paragraph(escape(c).replace("\n", "<br/>"), styles["cell"]) for c in r] for r in rows],
                colWidths=None,
                hAlign="CENTER",
            )
            table.setStyle(
                TableStyle(
                    [("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
                )
            )
            flow.append(table)
            flow.append(Spacer(1, 3 * mm))
            continue
        text = fill(str(block.get("text", "")), context)
        lines.append(text)
        flow.append(Paragraph(escape(text).replace("\n", "<br/>"), styles[kind]))
    title = fill(str(template.get("title", "")), context)
    filename = fill(str(template.get("filename") or template.get("key", "document")), context)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        topMargin=30 * mm,
        bottomMargin=25 * mm,
        title=title,
        author="govflow",
        subject=title,
        invariant=1,
    )
    doc.build(flow)
    return RenderedDocument(
        key=str(template.get("key", "")),
        title=title,
        filename=filename + ".pdf",
        pdf=buffer.getvalue(),
        text="\n".join(lines),
    )
