"""Scope, versioning, atomicity, concurrency and class resolution of the generic runtime."""

import copy
import threading

import pytest
from django.db import connection
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from govflow.audit.models import AuditEvent
from govflow.cases.selectors import cases_for_user, task_get_for_user, task_inbox, task_queue
from govflow.cases.services import (
    StepFailed,
    case_start,
    task_claim,
    task_complete,
    task_reassign,
    task_unclaim,
)
from govflow.errors import Conflict, OutOfScope, ValidationFailed
from govflow.forms.services import FormInvalid
from govflow.workflows.services import workflow_import
from tests.workflows.conftest import load
from tests.workflows.test_engine import VILLAGE, open_task, start


def test_only_the_township_of_the_village_sees_and_acts_on_the_task(every_kind, staff):
    case = start(staff)
    review = open_task(case, "review")
    assert task_get_for_user(user=staff["reviewer_x"], task_id=review.pk) == review
    for outsider in ("reviewer_y", "clerk_c", "clerk_b"):
        assert review not in task_queue(user=staff[outsider])
        with pytest.raises(OutOfScope):
            task_get_for_user(user=staff[outsider], task_id=review.pk)
        with pytest.raises(OutOfScope):
            task_claim(user=staff[outsider], task_id=review.pk)
        with pytest.raises(OutOfScope):
            task_complete(user=staff[outsider], task_id=review.pk, data={"decision": "approve"})
    assert case in cases_for_user(user=staff["supervisor_x"])
    assert case not in cases_for_user(user=staff["reviewer_y"])


def test_clerk_cannot_start_outside_own_village_or_at_wrong_level(every_kind, staff):
    with pytest.raises(OutOfScope):
        case_start(user=staff["clerk_c"], procedure_key="test_every_kind", area_code=VILLAGE, data={})
    with pytest.raises(OutOfScope):
        case_start(user=staff["reviewer_x"], procedure_key="test_every_kind", area_code=VILLAGE, data={})
    with pytest.raises(FormInvalid) as info:
        case_start(
            user=staff["clerk_a"], procedure_key="test_every_kind", area_code=VILLAGE, data={"amount": -1}
        )
    assert "applicant" in info.value.field_errors and "amount" in info.value.field_errors
    assert not Process.objects.exists()


def test_claim_unclaim_and_supervisor_reassign_are_audited(every_kind, staff, make_user):
    case = start(staff)
    review = open_task(case, "review")
    task_claim(user=staff["reviewer_x"], task_id=review.pk)
    assert review in task_inbox(user=staff["reviewer_x"]) and review not in task_queue(
        user=staff["reviewer_x"]
    )
    other = make_user("reviewer_x2", ("township_reviewer", "371727100"))
    with pytest.raises(Conflict):
        task_claim(user=other, task_id=review.pk)
    task_unclaim(user=staff["reviewer_x"], task_id=review.pk)
    assert review in task_queue(user=other)
    with pytest.raises(OutOfScope):
        task_reassign(actor=staff["reviewer_x"], task_id=review.pk, to_user=other)
    with pytest.raises(ValidationFailed):
        task_reassign(actor=staff["supervisor"], task_id=review.pk, to_user=staff["reviewer_y"])
    task_reassign(actor=staff["supervisor"], task_id=review.pk, to_user=other)
    assert review in task_inbox(user=other)
    actions = list(AuditEvent.objects.filter(task_id=review.pk).values_list("action", flat=True))
    assert actions == ["task.claimed", "task.unclaimed", "task.reassigned"]


def test_completing_a_finished_task_is_a_conflict(every_kind, staff):
    case = start(staff)
    review = open_task(case, "review")
    task_complete(user=staff["reviewer_x"], task_id=review.pk, data={"decision": "reject"})
    with pytest.raises(Conflict):
        task_complete(user=staff["reviewer_x"], task_id=review.pk, data={"decision": "reject"})


def test_new_version_leaves_running_cases_on_theirs(every_kind, staff):
    old_case = start(staff)
    changed = load("every_kind.json")
    changed["nodes"][1]["title"] = {"zh": "乡镇初审", "en": "First review"}
    changed["edges"] = [e for e in changed["edges"] if e["from"] != "decide"] + [
        {"from": "decide", "to": "rejected", "condition": 'review.decision == "reject"'},
        {"from": "decide", "to": "paid", "default": True},
    ]
    for node_id in (
        "calc",
        "split",
        "check_a",
        "check_b",
        "join",
        "wait",
        "pay",
        "notice",
        "notice_done",
        "expired",
    ):
        changed["nodes"] = [n for n in changed["nodes"] if n["id"] != node_id]
    changed["edges"] = [
        e
        for e in changed["edges"]
        if e["from"] in {n["id"] for n in changed["nodes"]} and e["to"] in {n["id"] for n in changed["nodes"]}
    ]
    v2, created = workflow_import(document=changed)
    assert created and v2.version == 2
    new_case = start(staff)
    assert new_case.workflow == v2 and old_case.workflow == every_kind
    task_complete(
        user=staff["reviewer_x"], task_id=open_task(new_case, "review").pk, data={"decision": "approve"}
    )
    task_complete(
        user=staff["reviewer_x"], task_id=open_task(old_case, "review").pk, data={"decision": "approve"}
    )
    new_case.refresh_from_db()
    old_case.refresh_from_db()
    assert new_case.outcome == "paid"
    assert old_case.status == "open" and open_task(old_case, "check_a")


def test_failing_service_task_rolls_the_whole_step_back(staff, every_kind):
    broken = copy.deepcopy(load("every_kind.json"))
    calc = next(n for n in broken["nodes"] if n["id"] == "calc")
    calc["set"][0]["expr"] = "100 / (apply.amount - 5)"
    workflow_import(document=broken)
    case = start(staff, amount=5)
    review = open_task(case, "review")
    events_before = AuditEvent.objects.count()
    with pytest.raises(StepFailed) as info:
        task_complete(user=staff["reviewer_x"], task_id=review.pk, data={"decision": "approve"})
    assert "除数为零" in str(info.value.message)
    review.refresh_from_db()
    case.process.refresh_from_db()
    assert review.status == STATUS.NEW and "review" not in case.process.data
    assert review.data["last_error"]["message"]
    assert (
        Task.objects.filter(process_id=case.pk).count()
        == Task.objects.filter(process_id=case.pk).exclude(flow_task_type="HUMAN").count() + 1
    )
    failures = AuditEvent.objects.filter(action="task.failed", task_id=review.pk)
    assert failures.count() == 1 and AuditEvent.objects.count() == events_before + 1


def test_flow_class_resolves_again_after_caches_are_dropped(every_kind, staff):
    """What a fresh process does: the stored reference compiles the version from the database."""
    from viewflow.workflow import fields

    from govflow.workflows import flows

    case = start(staff)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT flow_class FROM {Process._meta.db_table} WHERE id = %s", [case.pk])
        ref = cursor.fetchone()[0]
    assert ref == f"workflows/flows.{every_kind.flow_class_name}"
    flows._classes.clear()
    fields.import_flow_by_ref.cache_clear()
    fields.import_task_by_ref.cache_clear()
    process = Process.objects.get(pk=case.pk)
    assert process.flow_class.__name__ == every_kind.flow_class_name
    task_complete(user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "reject"})
    with pytest.raises(AttributeError):
        flows.__getattr__(f"V{every_kind.pk}_000000000000")
    with pytest.raises(AttributeError):
        flows.__getattr__("lock")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_people_completing_one_task_at_once_exactly_one_wins(staff, make_user):
    from govflow.workflows.library import import_library
    from tests.workflows.conftest import DEFINITIONS

    import_library([DEFINITIONS])
    second = make_user("reviewer_x2", ("township_reviewer", "371727100"))
    for _attempt in range(5):
        case = start(staff)
        review = open_task(case, "review")
        barrier = threading.Barrier(2)
        results: list[str] = []

        def complete(user):
            from django.db import connection as thread_connection

            try:
                barrier.wait()
                task_complete(user=user, task_id=review.pk, data={"decision": "reject"})
                results.append("ok")
            except (Conflict, OutOfScope) as exc:
                results.append(type(exc).__name__)
            finally:
                thread_connection.close()

        threads = [threading.Thread(target=complete, args=(u,)) for u in (staff["reviewer_x"], second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) in (["Conflict", "ok"], ["OutOfScope", "ok"]), results
        ends = [t for t in Task.objects.filter(process_id=case.pk) if t.flow_task.node_id == "rejected"]
        assert len(ends) == 1
        assert AuditEvent.objects.filter(action="task.completed", task_id=review.pk).count() == 1


def test_a_step_failing_after_a_timer_marks_the_case_failed(staff, every_kind):
    broken = copy.deepcopy(load("every_kind.json"))
    notice = next(n for n in broken["nodes"] if n["id"] == "notice")
    notice["set"][0]["expr"] = "1 / 0"
    workflow_import(document=broken)
    case = start(staff)
    task_complete(
        user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "approve"}
    )
    task_complete(user=staff["leader_x"], task_id=open_task(case, "check_a").pk, data={"ok": True})
    task_complete(user=staff["approver"], task_id=open_task(case, "check_b").pk, data={"ok": True})
    from tests.workflows.conftest import days_later, run_worker_at

    run_worker_at(days_later(31))
    run_worker_at(days_later(47))
    case.refresh_from_db()
    assert case.status == "failed"
    assert AuditEvent.objects.filter(action="task.failed", case_id=case.pk).count() == 1
    run_worker_at(days_later(48))
    assert AuditEvent.objects.filter(action="task.failed", case_id=case.pk).count() == 1


def test_a_published_workflow_version_refuses_edits(every_kind):
    from govflow.forms.models import PublishedVersionImmutable

    every_kind.document = {**every_kind.document, "code": "XX"}
    with pytest.raises(PublishedVersionImmutable):
        every_kind.save()
