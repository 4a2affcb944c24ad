"""manage.py translations_fill: fill the English catalog from the glossary (locale/en/glossary.json).

Source strings are Chinese. `make makemessages` collects them into django.po; this command writes the
English of every msgid the glossary knows, and lists those it does not, so the catalog never ships
half-empty by accident.
"""

from __future__ import annotations

import json
from pathlib import Path

from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Fill English msgstr values in django.po from locale/en/glossary.json; list missing ones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--merge", nargs="*", default=[], help="extra {zh: en} JSON files to add to the glossary"
        )

    def handle(self, *args, **options):
        locale_dir = Path(settings.LOCALE_PATHS[0]) / "en"
        glossary_path = locale_dir / "glossary.json"
        glossary: dict[str, str] = {}
        if glossary_path.exists():
            glossary = json.loads(glossary_path.read_text(encoding="utf-8"))
        for extra in options["merge"]:
            glossary.update(json.loads(Path(extra).read_text(encoding="utf-8")))
        glossary_path.write_text(
            json.dumps(dict(sorted(glossary.items())), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        po_path = locale_dir / "LC_MESSAGES" / "django.po"
        with open(po_path, "rb") as fh:
            catalog = read_po(fh, locale="en")
        missing = []
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            english = glossary.get(key)
            if english:
                if isinstance(message.id, str):
                    message.string = english
                else:
                    message.string = (english, english)
                message.flags.discard("fuzzy")
            elif (
                message.fuzzy
                or not message.string
                or (isinstance(message.string, tuple) and not message.string[0])
            ):
                # A fuzzy entry is gettext's guess from a similar msgid: often wrong, placeholders too.
                message.string = "" if isinstance(message.id, str) else ("", "")
                message.flags.discard("fuzzy")
                missing.append(key)
        with open(po_path, "wb") as fh:
            write_po(fh, catalog, width=0)
        self.stdout.write(f"{len(catalog) - len(missing)} translated, {len(missing)} missing")
        for key in missing:
            self.stdout.write(f"  missing: {key}")
