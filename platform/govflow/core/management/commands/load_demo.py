"""manage.py load_demo: the demo county, its users, the procedure library and a few cases. Idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from govflow.core.demo import DEMO_PASSWORD, load_demo_cases, load_demo_users
from govflow.roles.importers import AreaImportError, areas_import, read_rows
from govflow.roles.library import load_catalog


class Command(BaseCommand):
    help = (
        "Load the demo county (areas, roles, users), the procedure library and demo cases; print the logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-cases", action="store_true", help="skip the demo cases")
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the login table")

    def handle(self, *args, **options):
        fixtures: Path = settings.GOVFLOW_LIBRARY_DIRS["fixtures"]
        roles_dir: Path = settings.GOVFLOW_LIBRARY_DIRS["roles"]
        try:
            result = areas_import(rows=read_rows(fixtures / "areas.csv"))
        except AreaImportError as exc:
            raise CommandError(f"fixtures/areas.csv: {exc.message}: {exc.errors[:5]}")
        self.stdout.write(
            f"areas: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
        for path in sorted(roles_dir.glob("*.json")):
            seen, changed = load_catalog(path)
            self.stdout.write(f"roles: {path.name}: {seen} roles, {changed} created or changed")
        # The procedure library (forms/, workflows/) once the engine's import command is installed.
        from django.core.management import get_commands

        if "import_procedures" in get_commands():
            call_command("import_procedures", stdout=self.stdout, stderr=self.stderr)
        users = load_demo_users(json.loads((fixtures / "demo_users.json").read_text(encoding="utf-8")))
        if not options["no_cases"]:
            made = load_demo_cases(fixtures)
            self.stdout.write(f"demo cases: {made} created")
        if not options["quiet_logins"]:
            self.stdout.write("")
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
            self.stdout.write(f"{'username':<18} {'name':<10} roles")
            for username, name, roles in users:
                self.stdout.write(f"{username:<18} {name:<10} {roles}")
            self.stdout.write("")
