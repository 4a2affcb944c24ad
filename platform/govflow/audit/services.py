"""The one way to write audit events. Call it inside the transaction of the change it records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .hashing import GENESIS_HASH, canonical_json_around_seq, event_hash
from .models import AuditChainHead, AuditEvent

_MISSING = object()


@dataclass
class EventSpec:
    """What happened; audit_record_many turns a list of these into chained rows."""

    action: str
    actor: Any = None
    role_key: str = ""
    area_code: str = ""
    procedure_key: str = ""
    case_id: int | None = None
    task_id: int | None = None
    diff: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    client_address: str | None = None


def _json_safe(value: Any) -> Any:
    # Store exactly what the hash covered: a JSON round trip turns dates and Decimals into their text.
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def audit_record(
    *,
    action: str,
    actor: Any = None,
    role_key: str = "",
    area_code: str = "",
    procedure_key: str = "",
    case_id: int | None = None,
    task_id: int | None = None,
    diff: list[dict[str, Any]] | None = None,
    data: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (or a new one).

    Locks the chain head row until the transaction ends, so events are numbered without gaps in commit
    order. A rolled-back transaction leaves no event behind.
    """
    spec = EventSpec(
        action=action,
        actor=actor,
        role_key=role_key,
        area_code=area_code,
        procedure_key=procedure_key,
        case_id=case_id,
        task_id=task_id,
        diff=diff or [],
        data=data or {},
        client_address=client_address,
    )
    return audit_record_many([spec])[0]


def _event_values(spec: EventSpec, now: Any) -> dict[str, Any]:
    actor = spec.actor if getattr(spec.actor, "is_authenticated", False) else None
    return {
        "created": now,
        "actor_id": actor.pk if actor is not None else None,
        "actor_name": (actor.get_full_name() or actor.get_username()) if actor is not None else "",
        "role_key": spec.role_key or "",
        "area_code": spec.area_code or "",
        "action": spec.action,
        "procedure_key": spec.procedure_key or "",
        "case_id": spec.case_id,
        "task_id": spec.task_id,
        "diff": _json_safe(spec.diff),
        "data": _json_safe(spec.data),
        "client_address": spec.client_address or None,
    }


def audit_record_many(specs: Sequence[EventSpec]) -> list[AuditEvent]:
    """Append several events under one lock of the chain head (one service call often writes 2-4)."""
    if not specs:
        return []
    now = timezone.now()
    appended: list[AuditEvent] = []
    if connection.vendor == "postgresql" and len(specs) <= 4:
        # A service call writes one to a few events: one statement each beats lock + bulk insert + update.
        for spec in specs:
            event = _append_postgres(_event_values(spec, now))
            if event is None:
                break
            appended.append(event)
        specs = specs[len(appended) :]
        if not specs:
            return appended
    # No savepoint of its own: a failure to audit must fail the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head = AuditChainHead.objects.create(pk=1, seq=0, hash=GENESIS_HASH)
        seq, prev = head.seq, head.hash
        rows: list[AuditEvent] = []
        for spec in specs:
            seq += 1
            values = {"seq": seq, **_event_values(spec, now)}
            digest = event_hash(prev, values)
            rows.append(AuditEvent(prev_hash=prev, hash=digest, **values))
            prev = digest
        AuditEvent.objects.bulk_create(rows)
        AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=prev)
    return appended + rows


_COLUMNS = (
    "created",
    "actor_id",
    "actor_name",
    "role_key",
    "area_code",
    "action",
    "procedure_key",
    "case_id",
    "task_id",
    "diff",
    "data",
    "client_address",
)
_APPEND_SQL = """
WITH head AS (
    SELECT seq, hash FROM audit_auditchainhead WHERE id = 1 FOR UPDATE
), next AS (
    SELECT head.seq + 1 AS seq, head.hash AS prev_hash,
           encode(sha256(convert_to(head.hash || %s || (head.seq + 1)::text || %s, 'UTF8')), 'hex') AS hash
    FROM head
), moved AS (
    UPDATE audit_auditchainhead SET seq = next.seq, hash = next.hash FROM next WHERE audit_auditchainhead.id = 1
)
INSERT INTO audit_auditevent (seq, prev_hash, hash, {columns})
SELECT next.seq, next.prev_hash, next.hash, {placeholders} FROM next
RETURNING id, seq, prev_hash, hash
""".format(columns=", ".join(_COLUMNS), placeholders=", ".join(["%s"] * len(_COLUMNS)))  # noqa: S608 (constant names)


def _append_postgres(values: dict[str, Any]) -> AuditEvent | None:
    """One statement per event on PostgreSQL: lock the head, hash, insert, move the head.

    The hash is the same function as event_hash (sha256 of the previous hash and the canonical JSON), with
    the sequence number, known only under the lock, spliced in where the canonical JSON has it. Returns None
    when the chain head row does not exist yet (the ORM path creates it).
    """
    around = canonical_json_around_seq(values)
    if around is None:
        return None
    prefix, suffix = around
    params: list[Any] = [prefix, suffix]
    for column in _COLUMNS:
        value = values[column]
        params.append(json.dumps(value, ensure_ascii=False) if column in ("diff", "data") else value)
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    event = AuditEvent(id=row[0], seq=row[1], prev_hash=row[2], hash=row[3], **values)
    event._state.adding = False
    return event


def data_diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Field-level differences between two JSON values, keyed by JSON path ("spouses/0/name").

    Dicts are compared key by key, lists item by item; anything else is one change.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[dict[str, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}/{key}" if path else str(key)
            changes.extend(data_diff(old.get(key, _MISSING), new.get(key, _MISSING), sub))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            sub = f"{path}/{index}" if path else str(index)
            o = old[index] if index < len(old) else _MISSING
            n = new[index] if index < len(new) else _MISSING
            changes.extend(data_diff(o, n, sub))
        return changes
    if old is _MISSING and new is _MISSING:
        return []
    if old == new and type(old) is type(new):
        return []
    return [
        {
            "path": path,
            "old": None if old is _MISSING else old,
            "new": None if new is _MISSING else new,
        }
    ]


@dataclass
class VerifyResult:
    checked: int
    head_seq: int
    head_hash: str
    ok: bool
    problem: str = ""
    problem_seq: int | None = None


_VERIFY_FIELDS = (
    "seq",
    "created",
    "actor_id",
    "actor_name",
    "role_key",
    "area_code",
    "action",
    "procedure_key",
    "case_id",
    "task_id",
    "diff",
    "data",
    "client_address",
    "prev_hash",
    "hash",
)


def _verify_range(from_seq: int, to_seq: int | None, prev: str, chunk_size: int) -> VerifyResult:
    """Recompute hashes for events from_seq..to_seq (to the end when None), starting from hash `prev`."""
    expected_seq = from_seq
    checked = 0
    query = AuditEvent.objects.filter(seq__gte=from_seq)
    if to_seq is not None:
        query = query.filter(seq__lte=to_seq)
    rows: Iterable[tuple] = query.order_by("seq").values_list(*_VERIFY_FIELDS).iterator(chunk_size)
    for row in rows:
        values = dict(zip(_VERIFY_FIELDS, row, strict=True))
        seq = values["seq"]
        if seq != expected_seq:
            kind = "missing" if seq > expected_seq else "repeated"
            return VerifyResult(
                checked, seq, prev, False, f"sequence {kind}: expected {expected_seq}, found {seq}", seq
            )
        if values["prev_hash"] != prev:
            return VerifyResult(
                checked, seq, prev, False, "broken link: prev_hash does not match the previous event", seq
            )
        if event_hash(prev, values) != values["hash"]:
            return VerifyResult(
                checked, seq, prev, False, "altered: the event's content does not match its hash", seq
            )
        prev = values["hash"]
        expected_seq += 1
        checked += 1
    if to_seq is not None and expected_seq <= to_seq:
        return VerifyResult(
            checked, expected_seq, prev, False, f"sequence missing: expected {expected_seq}", expected_seq
        )
    return VerifyResult(checked, expected_seq - 1, prev, True)


def _verify_worker(args: tuple[int, int, str, int]) -> VerifyResult:
    from django.db import connections

    connections.close_all()  # a forked child must not share the parent's socket
    try:
        return _verify_range(*args)
    finally:
        connections.close_all()


def audit_verify(
    *, from_seq: int = 1, from_hash: str | None = None, chunk_size: int = 5000, workers: int = 1
) -> VerifyResult:
    """Walk the chain in sequence order and recompute every hash.

    Reports the first break: a missing or repeated sequence number, an event whose prev_hash is not the
    previous event's hash, or an event whose content no longer matches its hash. Also checks that the chain
    head agrees with the last event (catches deletion of the newest events). `from_seq`/`from_hash` start
    at a checkpoint an operator wrote down earlier.

    With `workers` > 1 (PostgreSQL, committed data) the chain is cut into ranges verified by forked
    processes; each range starts from the stored hash of the event before it, and the parent checks that
    this stored hash is exactly the hash the previous range recomputed, so no link goes unchecked.
    """
    prev = from_hash
    if prev is None:
        if from_seq == 1:
            prev = GENESIS_HASH
        else:
            before = AuditEvent.objects.filter(seq=from_seq - 1).values_list("hash", flat=True).first()
            prev = before or ""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    total = last - from_seq + 1
    if workers > 1 and connection.vendor == "postgresql" and total >= workers * chunk_size:
        result = _verify_parallel(from_seq, last, prev, chunk_size, workers)
    else:
        result = _verify_range(from_seq, None, prev, chunk_size)
    if not result.ok:
        return result
    head = AuditChainHead.objects.filter(pk=1).first()
    last_seq = result.head_seq
    if head is not None and (head.seq != last_seq or (result.checked and head.hash != result.head_hash)):
        return VerifyResult(
            result.checked,
            last_seq,
            result.head_hash,
            False,
            f"chain head says #{head.seq} but the log ends at #{last_seq}: events were removed",
            head.seq,
        )
    return VerifyResult(result.checked, last_seq, result.head_hash or GENESIS_HASH, True)


def _verify_parallel(from_seq: int, last: int, prev: str, chunk_size: int, workers: int) -> VerifyResult:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = (last - from_seq + 1 + workers - 1) // workers
    starts = [from_seq + i * size for i in range(workers) if from_seq + i * size <= last]
    boundaries = dict(
        AuditEvent.objects.filter(seq__in=[s - 1 for s in starts[1:]]).values_list("seq", "hash")
    )
    jobs = []
    for i, start in enumerate(starts):
        end = min(start + size - 1, last)
        start_hash = prev if i == 0 else boundaries.get(start - 1, "")
        jobs.append((start, end, start_hash, chunk_size))
    connection.close()
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_verify_worker, jobs))
    checked = 0
    for i, result in enumerate(results):
        if i > 0 and results[i - 1].ok and jobs[i][2] != results[i - 1].head_hash:
            return VerifyResult(
                checked, jobs[i][0], jobs[i][2], False, "broken link between ranges", jobs[i][0]
            )
        if not result.ok:
            return VerifyResult(
                checked + result.checked,
                result.head_seq,
                result.head_hash,
                False,
                result.problem,
                result.problem_seq,
            )
        checked += result.checked
    return VerifyResult(checked, last, results[-1].head_hash, True)


def _grant_for_area(user: Any, area_code: str) -> Any:
    from govflow.roles.selectors import user_grants

    covering = [g for g in user_grants(user=user) if area_code.startswith(g.area_code)]
    # The most specific grant names the role the user acted as.
    return max(covering, key=lambda g: len(g.area_code), default=None)


@transaction.atomic
def personal_data_reveal(
    *, user: Any, case_id: int | None, field_path: str, area_code: str, client_address: str | None = None
) -> AuditEvent:
    """Record that `user` saw the unmasked value at `field_path` of a case; call it before showing the value.

    Writes exactly one `personal_data.viewed` event (the path, never the value). Raises OutOfScope when the
    case's area is outside the user's scope, so a caller that forgot its own check still shows nothing.
    """
    from govflow.errors import OutOfScope
    from govflow.roles.selectors import user_can_see_area

    if not area_code or not user_can_see_area(user=user, area_code=area_code):
        raise OutOfScope()
    grant = _grant_for_area(user, area_code)
    return audit_record(
        action="personal_data.viewed",
        actor=user,
        role_key=grant.role_key if grant is not None else "",
        area_code=area_code,
        case_id=case_id,
        data={"field": field_path},
        client_address=client_address,
    )


def _common_area(codes: list[str]) -> str:
    if not codes:
        return ""
    prefix = min(codes, key=len)
    for code in codes:
        while not code.startswith(prefix):
            prefix = prefix[:-3] if len(prefix) > 6 else ""
    return prefix


def auth_login_record(*, user: Any, client_address: str | None = None) -> AuditEvent:
    """Record a successful login. The event's area is the smallest area covering all the user's grants,
    so the supervisor of that township sees it; a user without grants gives an area-less event."""
    from govflow.roles.selectors import user_grants

    area_code = _common_area([g.area_code for g in user_grants(user=user)])
    return audit_record(action="auth.login", actor=user, area_code=area_code, client_address=client_address)


def auth_login_failed_record(*, username: str, client_address: str | None = None) -> AuditEvent:
    """Record a failed login with the username that was tried (never the password). Area-less: only
    county supervisors see these, since the name tried may belong to nobody."""
    return audit_record(
        action="auth.login_failed", data={"username": (username or "")[:150]}, client_address=client_address
    )
