"""Authentication (session, token), throttling, and the one error shape for every kind of failure."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from govflow.api import throttling
from govflow.audit.models import AuditEvent


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "field_errors", "errors"}
    return body


def test_anonymous_requests_get_401_with_a_token_challenge(county):
    response = APIClient().get("/api/v1/cases/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_401(county):
    client = APIClient(HTTP_AUTHORIZATION="Token nope")
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_token_with_password_use_rotate_and_revoke(staff):
    anonymous = APIClient()
    bad = anonymous.post("/api/v1/auth/token/", {"username": "clerk_a", "password": "wrong"}, format="json")
    assert_error(bad, 401, "authentication_failed")
    assert AuditEvent.objects.filter(action="auth.login_failed", data__username="clerk_a").exists()
    created = anonymous.post(
        "/api/v1/auth/token/", {"username": "clerk_a", "password": "pw-clerk_a"}, format="json"
    )
    assert created.status_code == 201
    token = created.json()["token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/").json()
    assert me["username"] == "clerk_a" and me["grants"][0]["role"] == "village_clerk"
    assert client.get("/api/v1/auth/token/").json()["exists"] is True
    # A new token replaces the old one.
    rotated = client.post("/api/v1/auth/token/", {}, format="json")
    assert rotated.status_code == 201 and rotated.json()["token"] != token
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")
    client = APIClient(HTTP_AUTHORIZATION=f"Token {rotated.json()['token']}")
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")
    actions = list(
        AuditEvent.objects.filter(action__startswith="auth.token").values_list("action", flat=True)
    )
    assert actions == ["auth.token_created", "auth.token_created", "auth.token_revoked"]


def test_token_needs_both_username_and_password_or_a_session(staff, api):
    body = assert_error(
        APIClient().post("/api/v1/auth/token/", {"username": "clerk_a"}, format="json"), 400, "invalid"
    )
    assert list(body["field_errors"]) == [""]
    assert_error(APIClient().post("/api/v1/auth/token/", {}, format="json"), 401, "not_authenticated")
    assert api("clerk_a").post("/api/v1/auth/token/", {}, format="json").status_code == 201
    assert api("clerk_a").get("/api/v1/auth/token/").json()["exists"] is True


def test_session_writes_need_the_csrf_token(staff):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff["clerk_a"])
    body = assert_error(client.post("/api/v1/cases/", {}, format="json"), 403, "forbidden")
    assert "CSRF" in body["message"]


def test_parse_errors_unsupported_media_and_methods(staff, api):
    client = api("clerk_a")
    assert_error(
        client.post("/api/v1/cases/", "{not json", content_type="application/json"), 400, "parse_error"
    )
    assert_error(
        client.post("/api/v1/cases/", "a=b", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )
    assert_error(client.delete("/api/v1/cases/"), 405, "method_not_allowed")


def test_oversized_bodies_are_413(staff, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api("clerk_a").post(
        "/api/v1/cases/", {"procedure": "x", "area": "371727", "data": {"pad": "x" * 2000}}, format="json"
    )
    assert_error(response, 413, "too_large")


def test_unknown_api_urls_are_json_404(staff, api):
    assert_error(api("clerk_a").get("/api/v1/nothing/here/"), 404, "not_found")
    body = assert_error(api("clerk_a").get("/api/v1/cases"), 404, "not_found")
    assert "/api/v1/cases/" in body["message"]
    assert_error(api("clerk_a").get("/api/v1/procedures/nothing/"), 404, "not_found")


def test_throttled_requests_are_429_with_retry_after(staff, api, monkeypatch):
    monkeypatch.setattr(throttling.ReadThrottle, "rate", "3/min")
    client = api("clerk_a")
    for _ in range(3):
        assert client.get("/api/v1/me/").status_code == 200
    response = client.get("/api/v1/me/")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Per user: another user is not slowed down by the first one.
    assert api("clerk_b").get("/api/v1/me/").status_code == 200


def test_throttle_rates_can_be_overridden_by_settings(staff, api, settings):
    settings.GOVFLOW_API_THROTTLE_RATES = {"write": "1/min"}
    client = api("clerk_a")
    assert client.post("/api/v1/cases/", {}, format="json").status_code == 400
    assert_error(client.post("/api/v1/cases/", {}, format="json"), 429, "throttled")
    assert client.get("/api/v1/cases/").status_code == 200  # reads have their own budget


def test_password_guessing_is_throttled_per_address(staff, monkeypatch):
    monkeypatch.setattr(throttling.TokenThrottle, "rate", "2/min")
    client = APIClient()
    for _ in range(2):
        client.post("/api/v1/auth/token/", {"username": "clerk_a", "password": "x"}, format="json")
    response = client.post(
        "/api/v1/auth/token/", {"username": "clerk_a", "password": "pw-clerk_a"}, format="json"
    )
    assert_error(response, 429, "throttled")


def test_messages_follow_the_requested_language(staff, api):
    assert api("clerk_a").get("/api/v1/cases/1/").json()["message"] == "您无权访问此内容。"
    assert (
        api("clerk_a").get("/api/v1/cases/1/?lang=en").json()["message"] == "You do not have access to this."
    )
    english = api("clerk_a").get("/api/v1/cases/1/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["message"] == "You do not have access to this."


@pytest.mark.parametrize("exc_status", [500])
def test_unexpected_errors_are_logged_and_answered_in_the_same_shape(staff, api, monkeypatch, exc_status):
    from govflow.api import views

    def boom(**kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(views, "user_grants", boom)
    body = assert_error(api("clerk_a").get("/api/v1/me/"), exc_status, "server_error")
    assert "kaboom" not in body["message"]
