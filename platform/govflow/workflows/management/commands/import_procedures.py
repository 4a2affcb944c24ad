"""manage.py import_procedures [PATH...]: import library files; a new version only where content changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from govflow.errors import DefinitionInvalid
from govflow.workflows.library import default_paths, import_library
from govflow.workflows.management.commands.validate_procedures import print_errors


class Command(BaseCommand):
    help = "Import procedure library files (roles, forms, workflows). All or nothing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "paths", nargs="*", type=Path, help="files or folders (default: roles/ forms/ workflows/)"
        )

    def handle(self, *args: Any, paths: list[Path], **options: Any) -> None:
        try:
            result = import_library(paths or default_paths())
        except DefinitionInvalid as exc:
            print_errors(self, exc.errors)
            raise CommandError(f"{len(exc.errors)} error(s); nothing was imported")
        for name in result.created:
            self.stdout.write(f"published  {name}")
        self.stdout.write(f"{len(result.created)} published, {len(result.unchanged)} unchanged")
