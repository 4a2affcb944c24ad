"""The htmx expression check: compiles as the administrator types and lists the variables in scope."""

from __future__ import annotations

from django.urls import reverse


def check(client, **data):
    response = client.post(reverse("designer:expression_check"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_expression_check_accepts_a_rule_and_names_the_variables_it_uses(designer_client):
    html = check(
        designer_client,
        expression="round(income / household_size, 2)",
        scope="form",
        names="income,household_size",
    )
    assert "表达式正确" in html and "<code>household_size</code>" in html and "<code>income</code>" in html


def test_expression_check_reports_a_syntax_error_with_its_position(designer_client):
    html = check(designer_client, expression="income >", scope="form", names="income")
    assert "✘" in html and "error-message" in html
    assert "<mark>" in html


def test_expression_check_flags_names_that_are_not_in_scope_and_lists_the_available_ones(designer_client):
    html = check(designer_client, expression="student && age > 6", scope="form", names="student,row,settings")
    assert "未定义的变量" in html and "<code>age</code>" in html
    assert "可用的变量" in html and "<code>row</code>" in html


def test_expression_check_refuses_python(designer_client):
    html = check(designer_client, expression="__import__('os')", scope="form", names="")
    assert "✘" in html and "表达式正确" not in html


def test_expression_check_in_a_workflow_offers_what_upstream_nodes_define(designer_client, every_kind):
    html = check(
        designer_client,
        expression='review.decision == "reject"',
        scope="workflow",
        key="test_every_kind",
        node="decide",
    )
    assert "表达式正确" in html
    assert "<code>review.decision</code>" in html and "<code>apply.amount</code>" in html
    assert "<code>settings.multiplier</code>" in html and "<code>case.area</code>" in html
    later = check(
        designer_client, expression="fee > 0", scope="workflow", key="test_every_kind", node="decide"
    )
    assert "未定义的变量" in later and "<code>fee</code>" in later  # fee is set by calc, after the gateway
    after = check(
        designer_client,
        expression='fee > 0 && decision_no != ""',
        scope="workflow",
        key="test_every_kind",
        node="pay",
    )
    assert "表达式正确" in after


def test_expression_check_shows_nothing_for_an_empty_expression(designer_client):
    assert "（空）" in check(designer_client, expression="  ", scope="form", names="a")
