"""Compiled workflow versions, resolved by name (PEP 562) so viewflow's stored references work anywhere.

viewflow stores `Process.flow_class` as "workflows/flows.V<pk>_<checksum prefix>" and imports it with
import_string; this module's __getattr__ compiles that version the first time the name is asked for in a
process and keeps the class for the life of the process (viewflow compares classes by identity and caches
references, so a class must never be rebuilt). Names that do not match, or whose checksum no longer matches
the stored version, are refused: the caller sees the process's flow as missing, never a different flow.
"""

from __future__ import annotations

import re
import threading
from typing import Any

NAME = re.compile(r"^V(\d{1,18})_([0-9a-f]{12})$")
_classes: dict[str, Any] = {}
_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    match = NAME.match(name)
    if match is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    flow_class = _classes.get(name)
    if flow_class is not None:
        return flow_class
    from govflow.workflows.compiler import build_flow_class
    from govflow.workflows.models import WorkflowVersion

    with _lock:
        flow_class = _classes.get(name)
        if flow_class is None:
            version = WorkflowVersion.objects.filter(pk=int(match[1])).first()
            if version is None or not version.checksum.startswith(match[2]):
                raise AttributeError(f"workflow version {name} does not exist")
            flow_class = build_flow_class(version)
            _classes[name] = flow_class
    return flow_class


def compiled_count() -> int:
    return len(_classes)
