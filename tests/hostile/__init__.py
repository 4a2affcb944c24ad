"""Hostile-input property tests: what citizens, imports and designers can send never crashes the platform.

Shared Hypothesis settings: derandomized (the same examples on every run, so CI is stable), no example
database (nothing is written into the tree), no per-example deadline (each test enforces its own time box
with time.perf_counter instead, which reports the slow input rather than a flaky timing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent.parent

HOSTILE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def library(folder: str) -> dict[str, Any]:
    """The shipped definition files of one library folder (forms, workflows), by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((REPO / folder).glob("*.json"))
    }


def roles_catalog() -> dict[str, list[str]]:
    catalog = json.loads((REPO / "roles" / "catalog.json").read_text(encoding="utf-8"))
    return {role["key"]: list(role.get("levels", [])) for role in catalog["roles"]}


def hostile(max_examples: int) -> settings:
    """The shared settings with a test's own example budget (the whole package stays under a minute)."""
    return settings(HOSTILE, max_examples=max_examples)
