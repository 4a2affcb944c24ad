"""Test runs: the path a case would take with given data, walked in Python with the expression language,
writing nothing."""

from __future__ import annotations

import copy
from datetime import date

from django.urls import reverse
from viewflow.workflow.models import Process, Task

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case
from govflow.designer.sandbox import sandbox_run
from govflow.workflows.models import Sequence
from tests.designer.conftest import VILLAGE

APPLY = {"applicant": "张三", "amount": 100}


def path(result):
    return [step.node for step in result.steps]


def test_sandbox_takes_the_rejecting_branch_when_the_review_rejects(every_kind):
    result = sandbox_run(
        document=every_kind.document,
        data={"apply": APPLY, "review": {"decision": "reject"}},
        area_code=VILLAGE,
    )
    assert path(result) == ["apply", "review", "decide", "rejected"]
    assert result.outcome == "rejected" and result.finished
    gateway = result.steps[2]
    assert gateway.conditions[0] == {
        "to": "rejected",
        "condition": 'review.decision == "reject"',
        "value": True,
        "chosen": True,
    }
    assert gateway.taken == "rejected"


def test_sandbox_runs_service_tasks_parallel_branches_and_timers_to_the_end(every_kind):
    data = {
        "apply": APPLY,
        "review": {"decision": "approve"},
        "check_a": {"ok": True},
        "check_b": {"ok": True},
        "pay": {},
    }
    result = sandbox_run(document=every_kind.document, data=data, area_code=VILLAGE, today=date(2024, 3, 1))
    assert path(result) == [
        "apply",
        "review",
        "decide",
        "calc",
        "split",
        "check_a",
        "check_b",
        "join",
        "wait",
        "pay",
        "paid",
    ]
    assert result.outcome == "paid"
    calc = result.steps[3]
    assert [(a["var"], a["value"]) for a in calc.assignments] == [
        ("fee", 200),
        ("fee_total", 201),
        ("decision_no", "371727-TK-JD-2024-0001"),
    ]
    assert result.data["fee_total"] == 201
    assert "notice" in calc.note  # documents are not generated


def test_sandbox_shows_the_role_level_and_area_of_each_step(every_kind):
    data = {"apply": APPLY, "review": {"decision": "approve"}}
    steps = {s.node: s for s in sandbox_run(document=every_kind.document, data=data, area_code=VILLAGE).steps}
    assert (steps["apply"].role, steps["apply"].level, steps["apply"].area) == (
        "village_clerk",
        "village",
        VILLAGE,
    )
    assert (steps["review"].role, steps["review"].level, steps["review"].area) == (
        "township_reviewer",
        "township",
        "371727100",
    )
    assert (steps["check_b"].role, steps["check_b"].area) == ("county_approver", "371727")
    assert "review_escalate" in steps["review"].note  # boundary timeouts are listed, not fired


def test_sandbox_stops_where_the_engine_would_when_a_condition_cannot_be_evaluated(every_kind):
    document = copy.deepcopy(every_kind.document)
    document["edges"][2]["condition"] = "review.amount / 0 > 1"
    result = sandbox_run(
        document=document, data={"apply": APPLY, "review": {"decision": "reject"}}, area_code=VILLAGE
    )
    assert path(result) == ["apply", "review", "decide"]
    assert result.stopped and not result.finished and result.steps[-1].errors


def test_sandbox_reports_a_loop_instead_of_running_forever(every_kind):
    document = copy.deepcopy(every_kind.document)
    document["edges"] = [e for e in document["edges"] if e["from"] != "review"] + [
        {"from": "review", "to": "review"}
    ]
    result = sandbox_run(document=document, data={"apply": APPLY}, area_code=VILLAGE)
    assert "循环" in result.stopped


def test_test_run_page_validates_each_step_and_writes_nothing(designer_client, every_kind):
    before = (
        Case.objects.count(),
        Process.objects.count(),
        Task.objects.count(),
        AuditEvent.objects.count(),
        Sequence.objects.count(),
    )
    url = reverse("designer:procedure_test", args=["test_every_kind"])
    page = designer_client.get(url)
    sample = page.context["form"]["sample"].value()
    assert '"apply": {' in sample and '"applicant": null' in sample and '"decision": null' in sample
    response = designer_client.post(
        url,
        {
            "area": VILLAGE,
            "sample": '{"apply": {"applicant": "张", "amount": 100}, "review": {"decision": "reject"}}',
            "validate_forms": "on",
        },
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert path(result) == ["apply", "review", "decide", "rejected"]
    assert "applicant" in result.steps[0].form_errors  # too short for the start form
    html = response.content.decode()
    assert "案件办结，结果：rejected" in html and "township_reviewer" in html
    after = (
        Case.objects.count(),
        Process.objects.count(),
        Task.objects.count(),
        AuditEvent.objects.count(),
        Sequence.objects.count(),
    )
    assert after == before


def test_test_run_page_says_so_when_the_data_is_not_json(designer_client, every_kind):
    response = designer_client.post(
        reverse("designer:procedure_test", args=["test_every_kind"]), {"area": VILLAGE, "sample": "{nope"}
    )
    assert "不是有效的 JSON" in response.content.decode() and response.context["result"] is None
