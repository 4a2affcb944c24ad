"""The staff workspace end to end in Chromium: a clerk starts a case, the township reviewer finds it in the
queue, claims and completes it; the clerk of another village cannot open it. Screenshots for people."""

from tests.browser.conftest import login, screenshot
from tests.workflows.conftest import every_kind  # noqa: F401 - fixture


def new_page(browser, base):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    pg = context.new_page()
    pg.base = base
    return pg


def test_clerk_starts_reviewer_claims_and_completes_outsider_is_refused(
    browser,
    page,
    transactional_db,
    every_kind,  # noqa: F811 - the fixture imported above
    staff,
):
    # The village clerk of 甲村 starts a case.
    login(page, "clerk_a", "pw-clerk_a")
    page.goto(page.base + "/start/")
    page.get_by_role("link", name="发起", exact=True).first.click()
    page.wait_for_load_state("networkidle")
    assert "测试：全部节点类型" in page.locator("h1").inner_text()
    page.fill("#id_f-applicant", "张三丰")
    page.fill("#id_f-amount", "120.50")
    screenshot(page, "workspace-start")
    page.get_by_role("button", name="提交并发起").click()
    page.wait_for_load_state("networkidle")
    assert "案件已发起" in page.locator(".messages").inner_text()
    case_url = page.url
    reference = page.locator(".summary dd a").first.inner_text()
    assert reference.startswith("371727-TK-")

    # The township reviewer sees it in the queue, with the bell's count loaded by htmx.
    reviewer = new_page(browser, page.base)
    login(reviewer, "reviewer_x", "pw-reviewer_x")
    reviewer.goto(reviewer.base + "/work/queue/")
    reviewer.wait_for_load_state("networkidle")
    assert reviewer.locator(".bell-count").inner_text() == "1"
    row = reviewer.locator("#task-list tbody tr", has_text=reference)
    assert "张三丰" in row.inner_text() and "乡镇审核" in row.inner_text()
    row.get_by_role("button", name="认领", exact=True).click()
    reviewer.wait_for_load_state("networkidle")
    assert "已认领" in reviewer.locator(".messages").inner_text()
    reviewer.get_by_role("link", name="我的待办").click()  # a boosted link: htmx swaps the page
    reviewer.wait_for_url("**/work/")
    reviewer.wait_for_load_state("networkidle")
    assert reference in reviewer.locator("#task-list").inner_text()
    screenshot(reviewer, "workspace-inbox")

    # The task page: summary, form, earlier step; completed with the keyboard.
    reviewer.locator("#task-list tbody tr", has_text=reference).get_by_role("link", name="办理").click()
    reviewer.wait_for_load_state("networkidle")
    assert "乡镇审核" in reviewer.locator("h1").inner_text()
    assert "120.50 元" in reviewer.locator("#steps").inner_text()
    # A comment with a mention, posted through htmx: the list refreshes in place.
    task_url = reviewer.url
    reviewer.fill("#id_text", "@clerk_a 材料已收到")
    reviewer.get_by_role("button", name="发表").click()
    reviewer.locator("#comments .comment-text", has_text="材料已收到").wait_for()
    assert "@clerk_a" in reviewer.locator("#comments").inner_text()
    assert reviewer.url == task_url  # no page load
    screenshot(reviewer, "workspace-task")
    reviewer.get_by_label("同意", exact=True).check()
    reviewer.fill("#id_f-note", "材料齐全，同意受理。")
    reviewer.get_by_role("button", name="提交并办结").focus()
    reviewer.keyboard.press("Enter")
    reviewer.wait_for_load_state("networkidle")
    assert "已办结" in reviewer.locator(".messages").inner_text()
    assert reviewer.url.endswith("/work/")

    # The case page: data by step, the diagram, open tasks, documents and the timeline.
    reviewer.goto(case_url)
    reviewer.wait_for_load_state("networkidle")
    assert "材料齐全" in reviewer.locator("#steps").inner_text()
    assert reviewer.locator("#diagram svg").count() == 1
    assert "乡镇复核" in reviewer.locator("#open-tasks").inner_text()
    assert "测试告知书" in reviewer.locator("#documents").inner_text()
    screenshot(reviewer, "workspace-case")

    # The clerk was mentioned.
    page.goto(page.base + "/notifications/")
    assert (
        "有人提到了您" in page.locator("main").inner_text()
        and "材料已收到" in page.locator("main").inner_text()
    )

    # The clerk of another village cannot open the case or the task: 403 and no case data.
    outsider = new_page(browser, page.base)
    login(outsider, "clerk_b", "pw-clerk_b")
    for url in (case_url, case_url.replace("/cases/", "/audit/cases/") + "timeline/"):
        response = outsider.goto(url)
        assert response.status == 403
        body = outsider.content()
        assert reference not in body and "张三丰" not in body
    assert "您无权访问此内容" in outsider.locator(".error-message").inner_text()
    screenshot(outsider, "workspace-forbidden")
    for pg in (reviewer, outsider):
        pg.context.close()
