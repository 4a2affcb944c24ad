import pytest

from govflow.documents.rendering import (
    DocumentError,
    check_template,
    fill,
    fmt_cn_date,
    fmt_money,
    fmt_rmb_upper,
    render,
)

DECISION = {
    "key": "decision",
    "title": "社会抚养费征收决定书",
    "per": "spouses",
    "filename": "征收决定书-${reference}-${item.name}",
    "blocks": [
        {"kind": "title", "text": "${settings.issuer}\n社会抚养费征收决定书"},
        {"kind": "right", "text": "${doc_no}"},
        {"kind": "paragraph", "text": "当事人：${item.name}，公民身份号码：${item.id_card}。"},
        {"kind": "table", "rows": [["应缴金额", "${item.fee|money} 元（${item.fee|rmb_upper}）"]]},
        {"kind": "signature", "text": "${settings.issuer}\n${served_on|cn_date}"},
    ],
}
CONTEXT = {
    "reference": "371727-SF-2013-000001",
    "doc_no": "定卫征决〔2013〕1号",
    "served_on": "2013-03-04",
    "settings": {"issuer": "定陶县人口和计划生育局"},
    "spouses": [
        {"name": "张三", "id_card": "440524188001010014", "fee": 35000},
        {"name": "李四", "id_card": "11010519491231002X", "fee": 35000},
    ],
}


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (35000, "叁万伍仟元整"),
        (70000, "柒万元整"),
        (490, "肆佰玖拾元整"),
        (100500, "壹拾万零伍佰元整"),
        (1005, "壹仟零伍元整"),
        ("490.50", "肆佰玖拾元伍角"),
        ("1200.05", "壹仟贰佰元零伍分"),
        (0, "零元整"),
    ],
)
def test_rmb_upper_reads_like_official_notices_when_amount_given(amount, text):
    assert fmt_rmb_upper(amount) == text


def test_money_and_date_filters_format_for_paper_when_used():
    assert fmt_money(35000) == "35,000.00"
    assert fmt_money("490.005") == "490.01"
    assert fmt_cn_date("2013-03-04") == "2013年3月4日"


def test_fill_evaluates_placeholders_with_filters_when_text_has_them():
    assert fill("合计${a + b|money}元，${ok ? '是' : '否'}", {"a": 1, "b": 2, "ok": True}) == "合计3.00元，是"


def test_render_makes_one_pdf_per_spouse_when_template_has_per():
    documents = render(DECISION, CONTEXT)
    assert [d.filename for d in documents] == [
        "征收决定书-371727-SF-2013-000001-张三.pdf",
        "征收决定书-371727-SF-2013-000001-李四.pdf",
    ]
    first = documents[0]
    assert first.pdf.startswith(b"%PDF")
    assert (
        "张三" in first.text and "35,000.00 元（叁万伍仟元整）" in first.text and "2013年3月4日" in first.text
    )
    # Same input, same bytes: the hash stored on the case can be re-checked later.
    assert render(DECISION, CONTEXT)[0].sha256 == first.sha256


def test_check_template_names_path_when_placeholder_does_not_compile():
    broken = {**DECISION, "blocks": [{"kind": "paragraph", "text": "${item.name +}"}, {"kind": "poem"}]}
    paths = [e["path"] for e in check_template(broken)]
    assert sorted(paths) == ["/blocks/0/text", "/blocks/1/kind"]


def test_render_raises_translated_error_when_variable_missing():
    with pytest.raises(DocumentError):
        render({"key": "x", "title": "x", "blocks": [{"kind": "paragraph", "text": "${nobody.name}"}]}, {})
