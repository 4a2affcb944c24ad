"""Masking of personal data, the reveal event, and login events."""

from __future__ import annotations

import pytest

from govflow.audit.masking import (
    looks_like_id_card,
    looks_like_mobile,
    mask_diff,
    mask_id_card,
    mask_mobile,
    mask_value,
)
from govflow.audit.models import AuditEvent
from govflow.audit.services import personal_data_reveal
from govflow.errors import OutOfScope


def test_mask_id_card_keeps_first_and_last_four_when_18_characters():
    assert mask_id_card("340521198203150026") == "3405**********0026"
    assert mask_id_card("11010519491231002X") == "1101**********002X"


def test_mask_mobile_keeps_first_three_and_last_four_when_11_digits():
    assert mask_mobile("13812345678") == "138****5678"


def test_value_shapes_detected_when_id_or_mobile():
    assert looks_like_id_card("340521198203150026")  # masked even though its check digit is wrong
    assert not looks_like_id_card("3405211982031500261")
    assert looks_like_mobile("13812345678") and looks_like_mobile(13812345678)
    assert not looks_like_mobile("12812345678") and not looks_like_mobile("138123456789")


def test_mask_value_masks_nested_and_embedded_numbers_when_present():
    value = {
        "spouses": [{"id": "440524188001010014"}],
        "text": "电话13812345678。",
        "amount": 35000,
        "ok": True,
    }
    assert mask_value(value) == {
        "spouses": [{"id": "4405**********0014"}],
        "text": "电话138****5678。",
        "amount": 35000,
        "ok": True,
    }


def test_mask_diff_masks_old_and_new_but_not_paths_when_diff_has_ids():
    diff = [{"path": "id_card", "old": "340521198203150026", "new": "11010519491231002X"}]
    assert mask_diff(diff) == [{"path": "id_card", "old": "3405**********0026", "new": "1101**********002X"}]


def test_reveal_writes_exactly_one_event_when_user_in_scope(staff):
    before = AuditEvent.objects.count()
    event = personal_data_reveal(
        user=staff["reviewer_x"],
        case_id=5,
        field_path="applicant/id_card",
        area_code="371727100201",
        client_address="10.0.0.8",
    )
    assert AuditEvent.objects.count() == before + 1
    assert event.action == "personal_data.viewed"
    assert event.actor_id == staff["reviewer_x"].pk and event.role_key == "township_reviewer"
    assert event.data == {"field": "applicant/id_card"} and event.case_id == 5
    assert event.client_address == "10.0.0.8" and event.area_code == "371727100201"


def test_reveal_refused_and_writes_nothing_when_case_outside_scope(staff):
    before = AuditEvent.objects.count()
    with pytest.raises(OutOfScope):
        personal_data_reveal(
            user=staff["reviewer_y"], case_id=5, field_path="applicant/id_card", area_code="371727100201"
        )
    assert AuditEvent.objects.count() == before


def test_login_failure_recorded_with_username_and_address_when_password_wrong(client, staff):
    response = client.post("/login/", {"username": "clerk_a", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.data == {"username": "clerk_a"}
    assert event.client_address == "10.1.2.3" and event.actor_id is None and event.area_code == ""
    assert "wrong" not in str(event.data)


def test_login_recorded_at_users_area_when_password_right(client, staff):
    client.post("/login/", {"username": "clerk_a", "password": "pw-clerk_a"}, REMOTE_ADDR="10.1.2.4")
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor_id == staff["clerk_a"].pk
    assert event.area_code == "371727100201" and event.client_address == "10.1.2.4"
