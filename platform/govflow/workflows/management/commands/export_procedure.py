"""manage.py export_procedure KEY --out DIR [--bpmn]: write a procedure's workflow and forms as files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from govflow.errors import GovflowError
from govflow.workflows.library import export_procedure


class Command(BaseCommand):
    help = "Export the latest published version of a procedure (workflow and forms) to a folder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("key")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--bpmn", action="store_true", help="also write BPMN 2.0 XML")

    def handle(self, *args: Any, key: str, out: Path, bpmn: bool, **options: Any) -> None:
        try:
            written = export_procedure(key, out, bpmn=bpmn)
        except GovflowError as exc:
            raise CommandError(str(exc.message))
        for path in written:
            self.stdout.write(str(path))
