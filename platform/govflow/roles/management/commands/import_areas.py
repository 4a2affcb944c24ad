"""manage.py import_areas FILE: load an area tree from CSV or XLSX (all or nothing; row errors on stderr)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from govflow.roles.importers import AreaImportError, areas_import, read_rows


class Command(BaseCommand):
    help = "Import areas (code,name,level,parent_code) from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, **options):
        try:
            rows = read_rows(options["path"])
            result = areas_import(rows=rows)
        except AreaImportError as exc:
            self.stderr.write(str(exc.message))
            for e in exc.errors:
                self.stderr.write(f"{options['path']}: row {e['row']} {e.get('column', '')}: {e['message']}")
            sys.exit(1)
        self.stdout.write(
            f"areas: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
