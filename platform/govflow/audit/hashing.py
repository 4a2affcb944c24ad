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
