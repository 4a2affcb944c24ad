"""An administrator builds, checks and publishes a new two-step procedure in the designer, in the browser;
then a village clerk starts a case of it and the township reviewer completes it, on the workspace's pages.

The forms are built with the form builder (a citizen ID, a repeating group and a conditional field), the
workflow is drawn in the bpmn-js modeler (shapes appended from its context pad) and its properties are set
in the side panel. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot

VILLAGE = "371727100201"
ID_CARD = "11010519491231002X"  # GB 11643 checksum valid


def _new_form(page, key: str, title: str) -> None:
    page.goto(page.base + "/designer/forms/new/")
    page.fill("#id_key", key)
    page.fill("#id_title_zh", title)
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_contain_text(key)
    expect(page.locator("#gd-errors")).to_contain_text("没有错误")


def _add_field(page, kind: str, name: str, label: str, *, into: str = "top") -> str:
    """Add a field with the builder's keyboard-usable controls; returns its editor id prefix."""
    bar = "add-" + re.sub(r"[^a-z0-9_]", "_", into)
    page.select_option(f"#{bar}-kind", kind)
    page.click(f"#{bar}-button")
    focused = page.evaluate("document.activeElement.id")
    assert focused.endswith("-label-zh"), focused
    fid = focused[: -len("-label-zh")]
    page.fill(f"#{fid}-label-zh", label)
    page.fill(f"#{fid}-name", name)
    page.press(f"#{fid}-name", "Tab")
    return fid


def _save_form(page) -> None:
    page.click("#gd-save")
    expect(page.locator("#gd-save-state")).to_contain_text("已保存为第 1 版草稿")
    expect(page.locator("#gd-errors")).to_contain_text("没有错误")


def _build_apply_form(page) -> None:
    _new_form(page, "bt_apply", "困难家庭救助申请")
    fid = _add_field(page, "text", "applicant", "申请人姓名")
    page.check(f"#{fid}-required")
    page.fill(f"#{fid}-max_length", "20")
    fid = _add_field(page, "id_card", "id_card", "公民身份号码")
    page.check(f"#{fid}-required")
    fid = _add_field(page, "boolean", "disabled", "持有残疾证")
    fid = _add_field(page, "choice", "grade", "残疾等级")
    page.select_option(f"#{fid}-widget", "radio")
    for index, (value, zh) in enumerate([("mild", "轻度"), ("severe", "重度")]):
        page.click(f"#{fid}-add-choice")
        page.fill(f"#{fid}-c{index}-value", value)
        page.fill(f"#{fid}-c{index}-zh", zh)
    # the expression check answers as the rule is typed (htmx)
    page.fill(f"#{fid}-visible_if", "disabled &&")
    expect(page.locator(f"#{fid}-visible_if-check")).to_contain_text("✘")
    page.fill(f"#{fid}-visible_if", "disabled")
    expect(page.locator(f"#{fid}-visible_if-check")).to_contain_text("表达式正确")
    page.fill(f"#{fid}-required_if", "disabled")
    expect(page.locator(f"#{fid}-required_if-check")).to_contain_text("表达式正确")
    group = _add_field(page, "group", "members", "共同生活的家庭成员")
    page.fill(f"#{group}-max_items", "8")
    child = _add_field(page, "text", "member_name", "姓名", into="members/*/")
    page.check(f"#{child}-required")
    member_id = _add_field(page, "id_card", "member_id", "公民身份号码", into="members/*/")
    # reorder with the keyboard-usable buttons: move the group above the conditional field and back
    page.click(f"#{group}-up")
    expect(page.locator("#gd-fields > ol > li").nth(3)).to_have_attribute("data-key", "members")
    page.click(f"#{group}-down")
    expect(page.locator("#gd-fields > ol > li").nth(4)).to_have_attribute("data-key", "members")
    # the live preview is the forms renderer's own output
    preview = page.locator("#gd-preview")
    expect(preview).to_contain_text("共同生活的家庭成员")
    expect(preview).not_to_contain_text("残疾等级")  # hidden by its rule until the box is ticked
    page.check("#id_gd-disabled")
    expect(preview).to_contain_text("残疾等级")
    expect(page.locator("#gd-errors")).to_contain_text("没有错误")
    expect(page.locator("#gd-json")).to_have_value(re.compile('"visible_if": "disabled"'))
    _save_form(page)
    # every editor is open after adding; leave the conditional field open for the picture
    for card in page.locator(".gd-card [aria-expanded='true']").all()[::-1]:
        if card.get_attribute("id") != f"{fid}-toggle":
            card.click()
    assert member_id
    screenshot(page, "designer-form-builder")


def _build_review_form(page) -> None:
    _new_form(page, "bt_review", "乡镇审核意见")
    fid = _add_field(page, "choice", "decision", "审核意见")
    page.check(f"#{fid}-required")
    page.select_option(f"#{fid}-widget", "radio")
    for index, (value, zh) in enumerate([("approve", "同意"), ("reject", "不同意")]):
        page.click(f"#{fid}-add-choice")
        page.fill(f"#{fid}-c{index}-value", value)
        page.fill(f"#{fid}-c{index}-zh", zh)
    _add_field(page, "textarea", "opinion", "审核说明")
    _save_form(page)


def _select(page, element_id: str) -> None:
    page.select_option("#gd-element", element_id)
    expect(page.locator("#p-id")).to_have_value(element_id)


def _append(page, source: str, action: str) -> str:
    """Select `source` on the canvas and append a shape from bpmn-js's context pad; returns the new id."""
    assert page.evaluate(f"window.govflowDesigner.select({source!r})")
    page.click(f".djs-context-pad [data-action='{action}']")
    page.wait_for_function("document.getElementById('p-id') && document.getElementById('p-id').value")
    return page.input_value("#p-id")


def _set(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.press(selector, "Tab")


def _draw_workflow(page) -> None:
    page.goto(page.base + "/designer/procedures/new/")
    page.fill("#id_key", "bt_proc")
    page.fill("#id_title_zh", "困难家庭救助")
    page.fill("#id_code", "BT")
    page.select_option("#id_level", "village")
    page.check("input[name=roles][value=village_clerk]")
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_contain_text("bt_proc")
    page.wait_for_selector(".djs-element[data-element-id='apply']")

    # the village step: the start form filled by the village clerk
    _select(page, "apply")
    page.select_option("#p-form", "bt_apply")
    _select(page, "apply")
    expect(page.locator("#p-form")).to_have_value("bt_apply")

    # replace the new procedure's end by apply -> gateway -> township review -> end, drawn from the shapes'
    # context pads (the modeler places and connects what is appended)
    assert page.evaluate("window.govflowDesigner.select('done')")
    page.click(".djs-context-pad [data-action='delete']")
    gateway = _append(page, "apply", "append.gateway")
    _set(page, "#p-id", "needs_review")
    _set(page, "#p-title-zh", "是否需要乡镇审核")
    task = _append(page, "needs_review", "append.append-task")
    _set(page, "#p-id", "township_review")
    _set(page, "#p-title-zh", "乡镇审核")
    # checking now lists what is missing and marks those shapes on the diagram (nothing is saved)
    page.click("#gd-check")
    expect(page.locator("#gd-wf-errors")).to_contain_text("处错误")
    expect(page.locator("#gd-wf-errors li[data-element='township_review']").first).to_be_visible()
    expect(page.locator(".djs-element.gd-invalid[data-element-id='township_review']")).to_have_count(1)
    screenshot(page, "designer-workflow-errors")
    page.select_option("#p-form", "bt_review")
    page.select_option("#p-level", "township")
    page.select_option("#p-role", "township_reviewer")
    page.select_option("#p-due-kind", "working")
    _set(page, "#p-due", "10")
    end = _append(page, "township_review", "append.end-event")
    _set(page, "#p-id", "approved")
    _set(page, "#p-title-zh", "审核通过")
    _set(page, "#p-outcome", "approved")
    other = _append(page, "needs_review", "append.end-event")
    _set(page, "#p-id", "not_eligible")
    _set(page, "#p-title-zh", "不符合条件")
    _set(page, "#p-outcome", "not_eligible")
    # a reminder after three days on the township step
    _select(page, "township_review")
    page.click("#p-add-timeout")
    expect(page.locator("#p-action")).to_have_value("remind")
    _set(page, "#p-title-zh", "催办")

    # the gateway: a condition on the way to the township, the default to the other end
    _select(page, "needs_review")
    default = page.eval_on_selector(
        "#p-default", "s => [...s.options].find(o => o.text.includes('不符合条件')).value"
    )
    page.select_option("#p-default", default)
    condition = page.locator(".gd-conditions input.gd-expr")
    condition.fill("apply.disabled == true || len(apply.members) > 2")
    expect(page.locator(".gd-conditions .gd-check")).to_contain_text("表达式正确")
    condition.press("Tab")
    assert gateway and task and end and other

    page.click("#gd-save")
    expect(page.locator("#gd-save-state")).to_contain_text("已保存为第 1 版草稿")
    expect(page.locator("#gd-wf-errors")).to_contain_text("没有错误")
    _select(page, "township_review")
    # for the picture only: the context pad of the selected shape would cover its neighbour
    page.add_style_tag(content=".djs-context-pad { display: none !important; }")
    page.eval_on_selector(".gd-panel", "panel => { panel.scrollTop = 0; }")
    screenshot(page, "designer-workflow")


def _publish(page) -> None:
    page.goto(page.base + "/designer/procedures/bt_proc/publish/")
    expect(page.locator("#publish-workflow")).to_contain_text("流程校验通过")
    expect(page.locator(".gd-publish-form[data-form='bt_apply']")).to_contain_text(
        "新增字段：公民身份号码（id_card）"
    )
    page.fill("#id_change_note", "新事项：困难家庭救助，村级申请、乡镇审核。")
    screenshot(page, "designer-publish")
    page.click("#publish-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("已发布第 1 版")


def _test_run(page) -> None:
    page.goto(page.base + "/designer/procedures/bt_proc/test/")
    sample = {
        "apply": {
            "applicant": "王芳",
            "id_card": ID_CARD,
            "disabled": True,
            "grade": "severe",
            "members": [{"member_name": "李明"}],
        },
        "township_review": {"decision": "approve"},
    }
    page.fill("#id_sample", json.dumps(sample, ensure_ascii=False))
    page.click("#test-run-form button[type=submit]")
    result = page.locator("#test-run-result")
    expect(result).to_contain_text("案件办结，结果：approved")
    expect(result).to_contain_text("township_reviewer")
    screenshot(page, "designer-test-run")


def _new_page(browser, base):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    other = context.new_page()
    other.base = base
    return other


def _clerk_starts_a_case(browser, base) -> str:
    """The village clerk fills the new start form on the workspace's start page."""
    clerk = _new_page(browser, base)
    login(clerk, "b_clerk", "pw-b_clerk")
    clerk.goto(base + "/start/bt_proc/")
    expect(clerk.locator("h1")).to_contain_text("困难家庭救助")
    clerk.fill("#id_f-applicant", "王芳")
    clerk.fill("#id_f-id_card", ID_CARD)
    expect(clerk.get_by_label("重度", exact=True)).to_have_count(0)  # the conditional field is hidden
    clerk.check("#id_f-disabled")
    clerk.get_by_label("重度", exact=True).check()  # shown by its rule once the box is ticked
    clerk.fill("#id_f-members-0-member_name", "李明")
    clerk.fill("#id_f-members-1-member_name", "李华")
    clerk.get_by_role("button", name="提交并发起").click()
    expect(clerk.locator(".messages")).to_contain_text("案件已发起")
    reference = clerk.locator(".summary dd a").first.inner_text()
    clerk.context.close()
    return reference


def _reviewer_completes_it(browser, base, reference: str) -> None:
    """The township reviewer claims the task from the queue and completes it with the review form."""
    reviewer = _new_page(browser, base)
    login(reviewer, "b_reviewer", "pw-b_reviewer")
    reviewer.goto(base + "/work/queue/")
    row = reviewer.locator("#task-list tbody tr", has_text=reference)
    expect(row).to_contain_text("乡镇审核")
    row.get_by_role("button", name="认领", exact=True).click()
    expect(reviewer.locator(".messages")).to_contain_text("已认领")
    reviewer.goto(base + "/work/")
    reviewer.locator("#task-list tbody tr", has_text=reference).get_by_role("link", name="办理").click()
    expect(reviewer.locator("h1")).to_contain_text("乡镇审核")
    expect(reviewer.locator("#steps")).to_contain_text("李明")  # the village step's repeating group
    reviewer.get_by_label("同意", exact=True).check()
    reviewer.fill("#id_f-opinion", "情况属实")
    reviewer.get_by_role("button", name="提交并办结").click()
    expect(reviewer.locator(".messages")).to_contain_text("已办结")
    reviewer.context.close()


def test_administrator_builds_and_publishes_a_procedure_that_staff_then_work_through(
    browser, page, transactional_db, county, make_user
):
    from govflow.cases.models import Case
    from govflow.workflows.selectors import workflow_version_get

    make_user("b_designer", ("designer", "371727"), first_name="设计员")
    make_user("b_clerk", ("village_clerk", VILLAGE))
    make_user("b_reviewer", ("township_reviewer", "371727100"))
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "b_designer", "pw-b_designer")

    _build_apply_form(page)
    _build_review_form(page)
    _draw_workflow(page)
    _publish(page)
    _test_run(page)
    assert problems == []

    version = workflow_version_get(key="bt_proc")
    nodes = {n["id"]: n for n in version.document["nodes"]}
    assert nodes["township_review"]["boundary"][0]["action"] == "remind"
    assert nodes["township_review"]["due"] == {"days": 10, "calendar": "working"}

    reference = _clerk_starts_a_case(browser, page.base)
    assert reference.startswith("371727-BT-")
    page.goto(page.base + "/designer/")
    row = page.locator("#procedure-table tr[data-key='bt_proc']")
    expect(row).to_contain_text("已发布")
    expect(row).to_contain_text("v1 · 1 件")  # one case running on version 1
    screenshot(page, "designer-procedures")

    _reviewer_completes_it(browser, page.base, reference)
    case = Case.objects.get(reference=reference)
    assert case.status == "closed" and case.outcome == "approved"
    assert case.process.data["apply"]["members"] == [{"member_name": "李明"}, {"member_name": "李华"}]
    assert case.process.data["apply"]["grade"] == "severe"


def test_side_panel_edits_come_back_exactly_in_the_saved_definition(
    page, transactional_db, county, make_user
):
    """Edits in the side panel (durations, timeouts, assignments, conditions, outcomes, a change of kind and
    back) are written where govflow.workflows.bpmn reads them: the saved draft differs from the published
    version by exactly those edits."""
    import copy

    from govflow.workflows.library import import_library
    from govflow.workflows.models import WorkflowVersion
    from tests.workflows.conftest import DEFINITIONS

    make_user("b_designer", ("designer", "371727"))
    import_library([DEFINITIONS])
    published = WorkflowVersion.objects.get(key="test_every_kind")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    login(page, "b_designer", "pw-b_designer")
    page.goto(page.base + "/designer/procedures/test_every_kind/workflow/")
    page.wait_for_selector(".djs-element[data-element-id='review']")

    _select(page, "review")
    page.select_option("#p-due-kind", "hours")
    _set(page, "#p-due", "8")
    _select(page, "review_escalate")
    page.select_option("#p-after-kind", "working")
    _set(page, "#p-after", "5")
    _select(page, "check_b_late")
    page.select_option("#p-interrupting", "false")
    _select(page, "wait")
    page.select_option("#p-wait-kind", "date")
    _set(page, "#p-wait", "add_days(case.started, 40)")
    _select(page, "calc")
    _set(page, "#p-set-0-expr", "apply.amount * settings.multiplier + 1")
    page.click("#p-set-add")
    expect(page.locator("#p-set-2-var")).to_have_value("value_3")
    _set(page, "#p-set-2-expr", "fee_total * 2")
    _set(page, "#p-number-format", "{county}-{sequence}-{year}-{seq:05}")
    _select(page, "rejected")
    _set(page, "#p-outcome", "refused")
    _select(page, "decide")
    _set(page, "#p-cond-0", 'review.decision == "reject" || apply.amount < 0')
    page.select_option("#gd-element", "flow_decide_rejected")
    _set(page, "#p-label-en", "Refuse")
    _select(page, "notice")
    page.select_option("#p-kind", "user_task")
    expect(page.locator("#p-kind")).to_have_value("user_task")
    page.select_option("#p-kind", "service_task")
    expect(page.locator("#p-set-0-var")).to_have_value("noticed")  # its properties went along
    page.select_option("#gd-element", "test_every_kind")
    _set(page, "#p-title-en", "Test: every node kind (edited)")
    page.fill("#p-settings", '{"multiplier": 3}')
    page.press("#p-settings", "Tab")
    page.click("#gd-save")
    expect(page.locator("#gd-save-state")).to_contain_text("已保存为第 2 版草稿")
    assert problems == []

    expected = copy.deepcopy(published.document)
    nodes = {n["id"]: n for n in expected["nodes"]}
    nodes["review"]["due"] = {"hours": 8}
    nodes["review"]["boundary"][1]["after"] = {"days": 5, "calendar": "working"}
    nodes["check_b"]["boundary"][0]["interrupting"] = False
    nodes["wait"]["wait"] = {"date": "add_days(case.started, 40)"}
    nodes["calc"]["set"][0]["expr"] = "apply.amount * settings.multiplier + 1"
    nodes["calc"]["set"].append({"var": "value_3", "expr": "fee_total * 2"})
    nodes["calc"]["number"]["format"] = "{county}-{sequence}-{year}-{seq:05}"
    expected["edges"][2]["label"]["en"] = "Refuse"
    nodes["rejected"]["outcome"] = "refused"
    expected["edges"][2]["condition"] = 'review.decision == "reject" || apply.amount < 0'
    expected["title"]["en"] = "Test: every node kind (edited)"
    expected["settings"] = {"multiplier": 3}
    draft = WorkflowVersion.objects.get(key="test_every_kind", status="draft")
    saved = copy.deepcopy(draft.document)
    for node in saved["nodes"]:
        node.pop("layout", None)  # the modeler's shapes sit where they were drawn; only positions
    # a change of kind re-creates the shape, so that node moves to the end of the list: order aside
    assert {n["id"]: n for n in saved.pop("nodes")} == {n["id"]: n for n in expected.pop("nodes")}
    key = lambda edge: json.dumps(edge, sort_keys=True)  # noqa: E731
    assert sorted(saved.pop("edges"), key=key) == sorted(expected.pop("edges"), key=key)
    assert saved == expected
    assert draft.errors == []
