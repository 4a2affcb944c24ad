"""The canonical form of an event and its hash. verify_audit and the writer share exactly this code."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

# The fields that the hash covers, in this order. Adding a field means a new chain format version.
HASHED_FIELDS = (
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
)


def _normalise_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(values: dict[str, Any]) -> str:
    payload = {name: values.get(name) for name in HASHED_FIELDS}
    payload["created"] = _normalise_time(payload["created"])
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(prev_hash: str, values: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(values)).encode("utf-8")).hexdigest()


def canonical_json_around_seq(values: dict[str, Any]) -> tuple[str, str] | None:
    """(prefix, suffix) such that prefix + str(seq) + suffix == canonical_json(values with that seq).

    Lets the database splice in the sequence number it assigns under the chain lock. "seq" sorts between
    "role_key" and "task_id", the last two hashed fields, and is always a top-level integer.
    """
    marker = "\ufdd0seq\ufdd0"  # Unicode noncharacters: never in real text, yet storable by PostgreSQL
    text = canonical_json({**values, "seq": marker})
    quoted = json.dumps(marker, ensure_ascii=False)
    if text.count(quoted) != 1:  # the marker also occurs in the event's own text: let the caller fall back
        return None
    prefix, suffix = text.split(quoted, 1)
    return prefix, suffix
