"""Only users for whom user_may_design holds may use any designer page or endpoint."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from govflow.forms.models import FormVersion
from govflow.workflows.models import WorkflowVersion

PAGES = [
    ("designer:procedures", []),
    ("designer:procedure_create", []),
    ("designer:procedure", ["test_every_kind"]),
    ("designer:procedure_duplicate", ["test_every_kind"]),
    ("designer:procedure_export", ["test_every_kind"]),
    ("designer:workflow", ["test_every_kind"]),
    ("designer:workflow_bpmn", ["test_every_kind"]),
    ("designer:procedure_publish", ["test_every_kind"]),
    ("designer:procedure_test", ["test_every_kind"]),
    ("designer:import", []),
    ("designer:forms", []),
    ("designer:form_create", []),
    ("designer:form_builder", ["t_review"]),
    ("designer:form_publish", ["t_review"]),
]
POSTS = [
    ("designer:procedure_retire", ["test_every_kind"]),
    ("designer:procedure_publish", ["test_every_kind"]),
    ("designer:workflow_bpmn", ["test_every_kind"]),
    ("designer:form_compose", ["t_review"]),
    ("designer:form_save", ["t_review"]),
    ("designer:form_from_json", ["t_review"]),
    ("designer:form_publish", ["t_review"]),
    ("designer:expression_check", []),
    ("designer:import", []),
]


@pytest.mark.parametrize("role_user", ["clerk_a", "reviewer_x", "supervisor", "approver"])
def test_every_designer_page_answers_403_to_users_who_may_not_design(client, every_kind, staff, role_user):
    client.force_login(staff[role_user])
    for name, args in PAGES:
        assert client.get(reverse(name, args=args)).status_code == 403, name
    for name, args in POSTS:
        response = client.post(
            reverse(name, args=args), data=json.dumps({"model": {}}), content_type="application/json"
        )
        assert response.status_code == 403, name
    assert WorkflowVersion.objects.filter(key="test_every_kind").count() == 1
    every_kind.refresh_from_db()
    assert every_kind.status == "published"
    assert FormVersion.objects.filter(key="t_review").count() == 1


def test_anonymous_visitors_are_sent_to_the_login_page(client, every_kind):
    response = client.get(reverse("designer:procedures"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(reverse("designer:procedure_retire", args=["test_every_kind"]))
    assert response.status_code == 302
    every_kind.refresh_from_db()
    assert every_kind.status == "published"


def test_every_designer_page_opens_for_a_designer(designer_client, every_kind):
    for name, args in PAGES:
        assert designer_client.get(reverse(name, args=args)).status_code in (200, 405), name


def test_a_revoked_designer_role_closes_the_designer_on_the_next_request(client, every_kind, staff):
    from govflow.roles.models import RoleAssignment
    from govflow.roles.services import role_revoke

    client.force_login(staff["designer"])
    assert client.get(reverse("designer:procedures")).status_code == 200
    role_revoke(assignment=RoleAssignment.objects.get(user=staff["designer"], role__key="designer"))
    assert client.get(reverse("designer:procedures")).status_code == 403
