import pytest

from govflow.errors import ValidationFailed
from govflow.roles.models import Area, Role, RoleAssignment
from govflow.roles.selectors import (
    role_area_code,
    scope_prefixes,
    scope_q,
    user_can_see_area,
    user_holds_role,
    user_may_design,
    user_may_start,
    user_may_supervise,
    users_for_role,
)
from govflow.roles.services import role_assign, role_revoke


def visible_codes(user):
    return sorted(Area.objects.filter(scope_q(user=user, field="code")).values_list("code", flat=True))


def test_scope_is_own_village_when_user_is_village_clerk(staff):
    assert visible_codes(staff["clerk_a"]) == ["371727100201"]
    assert not user_can_see_area(user=staff["clerk_a"], area_code="371727100202")


def test_scope_is_whole_township_only_when_user_is_township_reviewer(staff):
    assert visible_codes(staff["reviewer_x"]) == ["371727100", "371727100201", "371727100202"]
    assert not user_can_see_area(user=staff["reviewer_x"], area_code="371727101201")


def test_scope_is_whole_county_when_user_holds_county_role(staff):
    assert len(visible_codes(staff["approver"])) == 7


def test_scope_is_empty_when_user_has_no_role(make_user, county):
    nobody = make_user("nobody")
    assert visible_codes(nobody) == []
    assert scope_prefixes(user=nobody) == []


def test_revoked_role_stops_working_at_once_when_revoked(staff):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="reviewer_x")
    assert user_holds_role(user=user, role_key="township_reviewer", area_code="371727100")
    role_revoke(assignment=RoleAssignment.objects.get(user=user))
    fresh = get_user_model().objects.get(pk=user.pk)  # the next request loads the user again
    assert not user_holds_role(user=fresh, role_key="township_reviewer", area_code="371727100")
    assert visible_codes(fresh) == []


def test_users_for_role_finds_holders_when_walking_up_from_village(staff):
    township = role_area_code(case_area_code="371727100201", level="township")
    assert township == "371727100"
    holders = list(
        users_for_role(role_key="township_reviewer", area_code=township).values_list("username", flat=True)
    )
    assert holders == ["reviewer_x"]
    county = role_area_code(case_area_code="371727100201", level="county")
    assert list(
        users_for_role(role_key="county_approver", area_code=county).values_list("username", flat=True)
    ) == ["approver"]


def test_role_assign_refuses_when_level_does_not_fit(county, make_user):
    user = make_user("x")
    with pytest.raises(ValidationFailed):
        role_assign(
            user=user, role=Role.objects.get(key="village_clerk"), area=Area.objects.get(code="371727")
        )


def test_capabilities_follow_catalog_when_checked(staff):
    assert user_may_start(user=staff["clerk_a"], procedure_key="fee", area_code="371727100201")
    assert not user_may_start(user=staff["clerk_a"], procedure_key="fee", area_code="371727100202")
    assert not user_may_start(user=staff["supervisor"], procedure_key="fee", area_code="371727100201")
    assert user_may_design(user=staff["designer"]) and not user_may_design(user=staff["approver"])
    assert user_may_supervise(user=staff["supervisor_x"], area_code="371727100201")
    assert not user_may_supervise(user=staff["supervisor_x"], area_code="371727101201")


def test_role_assign_writes_audit_event_when_granted(county, make_user):
    from govflow.audit.models import AuditEvent

    make_user("g", ("village_clerk", "371727100201"))
    event = AuditEvent.objects.filter(action="role.assigned").last()
    assert event.area_code == "371727100201" and event.data["role"] == "village_clerk"
