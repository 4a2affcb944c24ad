"""manage.py validate_procedures [PATH...]: check library files; print file, JSON path and message for each
error; exit 1 if there is any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from govflow.workflows.library import default_paths, validate_library


def print_errors(command: BaseCommand, errors: list[dict[str, Any]]) -> None:
    for error in errors:
        node = f" [{error['node']}]" if error.get("node") else ""
        command.stderr.write(f"{error.get('file', '')}:{error.get('path') or '/'}{node}: {error['message']}")


class Command(BaseCommand):
    help = "Validate procedure library files (roles, forms, workflows); exit 1 on any error."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "paths", nargs="*", type=Path, help="files or folders (default: roles/ forms/ workflows/)"
        )

    def handle(self, *args: Any, paths: list[Path], **options: Any) -> None:
        errors = validate_library(paths or default_paths())
        if errors:
            print_errors(self, errors)
            raise CommandError(f"{len(errors)} error(s)")
        self.stdout.write("ok")
