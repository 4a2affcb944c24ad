import pytest
from django.db import connection, transaction

from govflow.audit.models import AppendOnlyError, AuditEvent
from govflow.audit.services import audit_record, audit_verify, data_diff


def write_events(n):
    for i in range(n):
        audit_record(action="test.event", case_id=i, diff=[{"path": "a", "old": i, "new": i + 1}])


def test_verify_passes_when_chain_is_clean(db):
    write_events(5)
    result = audit_verify()
    assert result.ok and result.checked == 5 and result.head_seq == 5


def test_model_refuses_update_and_delete_when_asked(db):
    write_events(1)
    event = AuditEvent.objects.get()
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_failed_transaction_writes_no_event_when_rolled_back(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="test.event")
        raise RuntimeError("boom")
    assert AuditEvent.objects.count() == 0


def test_data_diff_lists_paths_when_nested_values_change():
    old = {"a": 1, "spouses": [{"name": "甲"}, {"name": "乙"}], "gone": True}
    new = {"a": 2, "spouses": [{"name": "甲"}, {"name": "丙"}], "added": "x"}
    assert data_diff(old, new) == [
        {"path": "a", "old": 1, "new": 2},
        {"path": "added", "old": None, "new": "x"},
        {"path": "gone", "old": True, "new": None},
        {"path": "spouses/1/name", "old": "乙", "new": "丙"},
    ]


def _tamper(sql, params):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SET session_replication_role = replica"
            )  # what an attacker with owner rights does
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")


def test_verify_names_row_when_diff_edited_in_sql(db):
    write_events(5)
    _tamper("UPDATE audit_auditevent SET diff = %s WHERE seq = 3", ['[{"path": "a", "old": 0, "new": 999}]'])
    result = audit_verify()
    assert not result.ok and result.problem_seq == 3 and "altered" in result.problem


def test_verify_names_row_when_event_deleted_in_sql(db):
    write_events(5)
    _tamper("DELETE FROM audit_auditevent WHERE seq = %s", [2])
    result = audit_verify()
    assert not result.ok and result.problem_seq == 3 and "missing" in result.problem


def test_verify_fails_when_newest_event_deleted_in_sql(db):
    write_events(3)
    _tamper("DELETE FROM audit_auditevent WHERE seq = %s", [3])
    result = audit_verify()
    assert not result.ok and "removed" in result.problem


def test_verify_names_row_when_two_events_swapped_in_sql(db):
    write_events(4)
    _tamper("UPDATE audit_auditevent SET seq = -1 WHERE seq = 2", [])
    _tamper("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3", [])
    _tamper("UPDATE audit_auditevent SET seq = 3 WHERE seq = -1", [])
    result = audit_verify()
    assert not result.ok and result.problem_seq == 2


@pytest.mark.postgres
def test_database_refuses_update_when_request_user_tries(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from django.db.utils import DatabaseError

    write_events(1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x'")


def test_sequence_splice_matches_canonical_json_and_refuses_a_colliding_marker():
    from datetime import UTC, datetime

    from govflow.audit.hashing import canonical_json, canonical_json_around_seq

    values = {
        "created": datetime(2013, 3, 4, tzinfo=UTC),
        "actor_id": 3,
        "actor_name": "张三",
        "role_key": "township_reviewer",
        "area_code": "371727100",
        "action": "task.completed",
        "procedure_key": "social_fee",
        "case_id": 1,
        "task_id": None,
        "diff": [{"seq": 0}],
        "data": {"text": '"seq":1'},
        "client_address": None,
    }
    prefix, suffix = canonical_json_around_seq(values)
    for seq in (1, 42, 10**12):
        assert prefix + str(seq) + suffix == canonical_json({**values, "seq": seq})
    assert canonical_json_around_seq({**values, "data": {"x": "\ufdd0seq\ufdd0"}}) is None


def test_events_whose_text_collides_with_the_marker_still_chain(db):
    from govflow.audit.services import audit_record, audit_verify

    audit_record(action="a.b", data={"x": "\ufdd0seq\ufdd0"})
    audit_record(action="a.c")
    assert audit_verify().ok


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel verification forks PostgreSQL readers"
)
@pytest.mark.django_db(transaction=True)
def test_parallel_verify_agrees_with_serial_and_finds_an_edit_in_a_later_range():
    write_events(40)
    serial = audit_verify()
    parallel = audit_verify(workers=3, chunk_size=5)
    assert serial.ok and parallel.ok
    assert (parallel.checked, parallel.head_seq, parallel.head_hash) == (40, 40, serial.head_hash)
    _tamper("UPDATE audit_auditevent SET diff = %s WHERE seq = 31", ['[{"path": "a", "old": 0, "new": 1}]'])
    broken = audit_verify(workers=3, chunk_size=5)
    assert not broken.ok and broken.problem_seq == 31 and "altered" in broken.problem
