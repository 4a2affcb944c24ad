from tests.browser.conftest import login, screenshot


def test_demo_user_reaches_home_when_logging_in_through_browser(page, transactional_db, county, make_user):
    make_user("b_clerk", ("village_clerk", "371727100201"), first_name="王小明")
    page.goto(page.base + "/login/")
    assert page.locator("h1").inner_text() == "登录"
    login(page, "b_clerk", "pw-b_clerk")
    assert page.locator("h1").inner_text() == "我的工作"
    assert "村计生专干 · 甲村" in page.locator(".user-roles").inner_text()
    screenshot(page, "home")


def test_wrong_password_shows_error_when_logging_in_through_browser(
    page, transactional_db, county, make_user
):
    make_user("b_clerk2", ("village_clerk", "371727100201"))
    login(page, "b_clerk2", "wrong")
    assert "用户名或密码不正确" in page.locator(".error-message").inner_text()
