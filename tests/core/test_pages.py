from django.urls import reverse


def test_login_page_is_chinese_when_no_language_chosen(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    assert '<html lang="zh-hans">' in response.content.decode()


def test_login_page_is_english_when_lang_query_given(client, db):
    response = client.get(reverse("login") + "?lang=en")
    body = response.content.decode()
    assert "Log in" in body and "登录" not in body
    # The choice sticks for the next request (cookie).
    assert "Log in" in client.get(reverse("login")).content.decode()


def test_home_redirects_to_login_when_anonymous(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_home_shows_name_role_and_area_when_logged_in(client, staff):
    client.force_login(staff["reviewer_x"])
    body = client.get(reverse("home"), follow=True).content.decode()
    assert "乡镇审核员" in body and "定陶镇" in body and "reviewer_x" in body


def test_home_leads_each_user_to_their_work(client, staff):
    for user, target in (
        ("reviewer_x", "cases:inbox"),
        ("supervisor", "audit:reports"),
        ("designer", "designer:procedures"),
    ):
        client.force_login(staff[user])
        assert client.get(reverse("home"))["Location"] == reverse(target)


def test_demo_user_logs_in_when_password_right(client, county, make_user):
    make_user("demo_clerk", ("village_clerk", "371727100201"))
    response = client.post(reverse("login"), {"username": "demo_clerk", "password": "pw-demo_clerk"})
    assert response.status_code == 302
    assert client.get(reverse("home"), follow=True).status_code == 200


def test_english_catalog_translates_every_message_when_shipped():
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parents[2] / "platform/govflow/locale/en/LC_MESSAGES/django.po"
    with open(po, "rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else m.string[0])]
    assert missing == [], f"untranslated: {missing[:10]}"


def test_database_outage_is_a_clear_503_not_a_server_error(client, staff, monkeypatch):
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    client.force_login(staff["reviewer_x"])
    monkeypatch.setattr("govflow.cases.selectors.task_inbox", broken)
    response = client.get(reverse("cases:inbox"))
    assert response.status_code == 503 and response["Retry-After"] == "10"
    from rest_framework.views import APIView

    monkeypatch.setattr(APIView, "initial", broken)
    api = client.get("/api/v1/tasks/inbox/")
    assert api.status_code == 503 and api.json()["code"] == "unavailable"
