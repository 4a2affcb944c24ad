"""English with ?lang=en, and every string of the workspace has an English text ready for the catalog."""

import json
import re
from pathlib import Path

from babel.messages.pofile import read_po

from tests.workflows.test_engine import open_task

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "platform" / "govflow"
GLOSSARY = Path(__file__).resolve().parent / "glossary_en.json"
SOURCES = [
    *sorted((PACKAGE / "templates" / "cases").glob("*.html")),
    PACKAGE / "cases" / "views.py",
    PACKAGE / "cases" / "forms.py",
    PACKAGE / "cases" / "notifications.py",
    PACKAGE / "cases" / "models.py",
    PACKAGE / "cases" / "services.py",
    PACKAGE / "cases" / "selectors.py",
]
# In modules the workspace shares with the engine, only the appended workspace section is ours.
SHARED_MARKER = "# --- the staff workspace"
TRANSLATE = re.compile(r"""\{%\s*translate\s+(["'])(.+?)\1""")
BLOCK = re.compile(r"\{%\s*blocktranslate[^%]*%\}(.*?)\{%\s*(?:plural|endblocktranslate)\s*%\}", re.S)
GETTEXT = re.compile(r"""\b(?:_|gettext|gettext_lazy)\(\s*(["'])(.+?)\1""")


def workspace_msgids() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        if path.name in ("models.py", "services.py", "selectors.py"):
            text = text[text.index(SHARED_MARKER) :]
        found.update(m.group(2) for m in TRANSLATE.finditer(text))
        found.update(re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", m.group(1)) for m in BLOCK.finditer(text))
        if path.suffix == ".py":
            found.update(m.group(2) for m in GETTEXT.finditer(text))
    return {m for m in found if re.search(r"[\u4e00-\u9fff]", m)}


def test_every_workspace_string_has_english_in_the_catalog_or_the_glossary():
    with open(PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po", "rb") as handle:
        catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.string}
    glossary = json.loads(GLOSSARY.read_text(encoding="utf-8"))
    missing = sorted(m for m in workspace_msgids() if m not in catalog and m not in glossary)
    assert missing == []
    assert all(
        isinstance(v, str) and v.strip() and not re.search(r"[\u4e00-\u9fff]", v) for v in glossary.values()
    )


def test_pages_switch_to_english_with_lang_en(case, staff, login):
    client = login(staff["reviewer_x"])
    page = client.get("/work/queue/?lang=en").content.decode()
    assert '<html lang="en">' in page
    assert "Test: every node kind" in page  # the procedure's English title
    assert "Township review" in page  # the step's English title
    assert "My work" in page
    review = open_task(case, "review")
    task_page = client.get(f"/tasks/{review.pk}/").content.decode()  # the language sticks (cookie)
    assert '<html lang="en">' in task_page and "Township review" in task_page
    case_page = client.get(f"/cases/{case.pk}/").content.decode()
    assert '<html lang="en">' in case_page and "Case id" in case_page
