"""manage.py export_areas [--format csv|xlsx] [--root CODE] --out FILE"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from govflow.roles.importers import areas_export


class Command(BaseCommand):
    help = "Export the area tree (or a subtree) as CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--root", default=None)
        parser.add_argument("--out", required=True)

    def handle(self, *args, **options):
        Path(options["out"]).write_bytes(areas_export(fmt=options["format"], root_code=options["root"]))
        self.stdout.write(f"wrote {options['out']}")
