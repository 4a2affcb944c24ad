"""The test-only procedure that uses every node kind, imported through the real library importer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

DEFINITIONS = Path(__file__).resolve().parent / "definitions"


def load(name: str) -> dict:
    return json.loads((DEFINITIONS / name).read_text(encoding="utf-8"))


@pytest.fixture
def every_kind(staff):
    from govflow.workflows.library import import_library
    from govflow.workflows.selectors import workflow_version_get

    import_library([DEFINITIONS])
    return workflow_version_get(key="test_every_kind")


def run_worker_at(moment: datetime) -> str:
    """`manage.py run_worker --once` with the clock moved to `moment`."""
    from io import StringIO

    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=moment):
        call_command("run_worker", "--once", stdout=out)
    return out.getvalue()


def days_later(days: float) -> datetime:
    return timezone.now() + timedelta(days=days)
