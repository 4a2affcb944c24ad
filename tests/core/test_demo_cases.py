"""The demo cases (fixtures/demo_cases.json played by govflow.cases.demo through `manage.py load_demo`)."""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from viewflow.workflow.models import Task

from govflow.audit.models import AuditEvent
from govflow.cases.demo import LOADED_ACTION, DemoCaseError, demo_cases_load, demo_keys_loaded
from govflow.cases.models import Case, Notification
from govflow.cases.selectors import task_inbox, task_queue
from govflow.forms.formats import is_id_card

REPO = Path(__file__).resolve().parent.parent.parent
SCENARIOS = json.loads((REPO / "fixtures" / "demo_cases.json").read_text(encoding="utf-8"))
PROCEDURES = {"social_fee", "assistance", "only_child_certificate", "birth_registration"}


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", "--quiet-logins", *args, stdout=out)
    return out.getvalue()


def work(username: str) -> list[tuple[str, str]]:
    """(case reference, node id) of everything in the user's queue and inbox."""
    user = get_user_model().objects.get(username=username)
    tasks = [*task_queue(user=user), *task_inbox(user=user)]
    return sorted((t.process.case.reference, t.flow_task.node_id) for t in tasks)


def cases_by_key() -> dict[str, Case]:
    events = AuditEvent.objects.filter(action=LOADED_ACTION)
    return {e.data["key"]: Case.objects.get(pk=e.case_id) for e in events}


# --- the fixture file ------------------------------------------------------------------------------------


def test_the_fixture_has_unique_keys_all_four_procedures_and_valid_id_numbers():
    keys = [s["key"] for s in SCENARIOS]
    assert len(keys) == len(set(keys)) and 10 <= len(keys) <= 20
    assert {s["procedure"] for s in SCENARIOS} == PROCEDURES
    numbers = re.findall(r'"id_card": "([^"]*)"', json.dumps(SCENARIOS, ensure_ascii=False))
    assert len(numbers) >= 30
    assert [n for n in numbers if not is_id_card(n)] == []  # GB 11643 check digit and a real birth date
    townships = {s["area"][:9] for s in SCENARIOS}
    assert {"371703102", "371703107"} <= townships  # 冉固镇 and 仿山镇


# --- load_demo -------------------------------------------------------------------------------------------


def test_load_demo_plays_every_scenario_once_and_every_inbox_gets_work(db):
    out = load_demo()
    assert f"demo cases: {len(SCENARIOS)} created" in out
    assert demo_keys_loaded() == {s["key"] for s in SCENARIOS}
    assert Case.objects.count() == len(SCENARIOS)

    # Every scenario ended where its "expect" says, on the dates it gives.
    cases = cases_by_key()
    for scenario in SCENARIOS:
        case = cases[scenario["key"]]
        assert (case.procedure_key, case.area_code) == (scenario["procedure"], scenario["area"])
        assert case.started_by.username == scenario["as"]
        started = datetime.fromisoformat(scenario["at"])
        assert timezone.localtime(case.created).date() == started.date(), scenario["key"]
        assert case.reference.startswith("371703-") and f"-{started.year}-" in case.reference
        expect = scenario.get("expect", {})
        assert case.status == expect.get("status", case.status), scenario["key"]
        assert case.outcome == expect.get("outcome", case.outcome), scenario["key"]

    # Both township reviewers, the county approver and cashier, the leaders and the clerks have work.
    for username in (
        "rangu_shenhe",
        "fangshan_shenhe",
        "xian_shenpi",
        "xian_caiwu",
        "rangu_lingdao",
        "fangshan_lingdao",
        "rangu_cun1",
        "rangu_cun2",
        "fangshan_cun1",
    ):
        assert work(username), f"{username} has nothing to do"
    # ...with claimed tasks in some inboxes, not only queues.
    for username in ("rangu_shenhe", "fangshan_shenhe", "xian_shenpi"):
        user = get_user_model().objects.get(username=username)
        assert task_inbox(user=user).exists() and task_queue(user=user).exists(), username
    # The late certificate was escalated from the township to the county approver.
    escalated = cases["gr-rangu-han-escalated"]
    assert (escalated.reference, "issue") in work("xian_shenpi")
    assert (escalated.reference, "issue") not in work("rangu_shenhe")
    assert AuditEvent.objects.filter(action="task.escalated", case_id=escalated.pk).exists()
    assert escalated.reference not in {ref for ref, _node in work("fangshan_shenhe")}  # another township

    # Each procedure has a case; finished ones end in different ways.
    assert set(Case.objects.values_list("procedure_key", flat=True)) == PROCEDURES
    outcomes = set(Case.objects.filter(status=Case.Status.CLOSED).values_list("outcome", flat=True))
    assert len(outcomes) >= 3 and {"confirmed", "rejected", "issued", "paid"} <= outcomes
    assert Case.objects.filter(status=Case.Status.OPEN).count() >= 8
    assert not Case.objects.filter(status=Case.Status.FAILED).exists()

    # The worker, at today's date, only marks the long-past reminders: every task stays where it is.
    everyone = [u.username for u in get_user_model().objects.order_by("username")]
    before = {name: work(name) for name in everyone}
    call_command("run_worker", "--once", stdout=io.StringIO())
    assert {name: work(name) for name in everyone} == before
    assert not Case.objects.filter(status=Case.Status.FAILED).exists()

    # A second run creates nothing.
    counts = (Case.objects.count(), Task.objects.count(), Notification.objects.count())
    assert "demo cases: 0 created" in load_demo()
    assert (Case.objects.count(), Task.objects.count(), Notification.objects.count()) == counts
    assert AuditEvent.objects.filter(action=LOADED_ACTION).count() == len(SCENARIOS)


def test_scenarios_loaded_before_are_skipped_and_the_rest_are_played(db):
    load_demo("--no-cases")
    assert Case.objects.count() == 0
    assert demo_cases_load(SCENARIOS[:2]) == 2
    assert demo_cases_load(SCENARIOS) == len(SCENARIOS) - 2
    assert Case.objects.count() == len(SCENARIOS)
    assert demo_cases_load(SCENARIOS) == 0


def test_a_failing_step_names_the_scenario_and_step_and_saves_nothing_of_that_scenario(db):
    load_demo("--no-cases")
    good = next(s for s in SCENARIOS if s["key"] == "gr-rangu-zhang-issued")
    broken = copy.deepcopy(next(s for s in SCENARIOS if s["key"] == "jl-rangu-liu-confirmed"))
    broken["key"] = "broken"
    del broken["steps"][2]["data"]["signer"]  # the township review form requires the signer
    with pytest.raises(DemoCaseError) as caught:
        demo_cases_load([good, broken])
    message = str(caught.value)
    assert (
        "demo case 'broken', step 3" in message and "township_review" in message and "rangu_shenhe" in message
    )
    assert "signer" in message
    assert demo_keys_loaded() == {"gr-rangu-zhang-issued"}  # the good one before it stays
    assert list(Case.objects.values_list("procedure_key", flat=True)) == ["only_child_certificate"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.update({"as": "nobody"}), "no active user 'nobody'"),
        (lambda s: s["steps"][0].update({"node": "payment"}), "expected open task 'payment'"),
        (lambda s: s["steps"].insert(1, {"fire_timers": True}), "no timer was due"),
        (
            lambda s: s["expect"].update({"outcome": "rejected"}),
            "outcome is 'confirmed', expected 'rejected'",
        ),
    ],
)
def test_fixture_mistakes_are_reported_clearly(db, change, expected):
    load_demo("--no-cases")
    scenario = copy.deepcopy(next(s for s in SCENARIOS if s["key"] == "jl-rangu-liu-confirmed"))
    change(scenario)
    with pytest.raises(DemoCaseError, match=re.escape(expected)):
        demo_cases_load([scenario])
    assert Case.objects.count() == 0 and demo_keys_loaded() == set()
