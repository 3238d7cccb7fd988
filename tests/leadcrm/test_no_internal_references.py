"""Pages speak to their users: no internal reference (a design note's section, the
compliance reference's file name, a tracker's issue number) in a template, our own static
files, a field's help text or a report's notes."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

INTERNAL = re.compile(r"DOMAIN(?:\.md)?\s*\d|COMPLIANCE_RULES|\bissue\s*#?\d", re.IGNORECASE)
ROOT = Path(settings.BASE_DIR)


def test_no_template_or_static_file_cites_an_internal_reference():
    files = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "templates").rglob("*.txt"),
             *(ROOT / "static" / "css").glob("*.css"), *(ROOT / "static" / "js").glob("*.js")]
    assert files
    cited = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path in files
             for match in INTERNAL.finditer(path.read_text(encoding="utf-8"))]
    assert cited == []


def test_no_help_text_cites_an_internal_reference():
    cited = [f"{model._meta.label}.{field.name}" for model in apps.get_models() for field in model._meta.get_fields()
             if INTERNAL.search(str(getattr(field, "help_text", "") or ""))]
    assert cited == []


@pytest.mark.django_db
def test_no_report_note_cites_an_internal_reference():
    from datetime import date

    from pipeline.reports.period import Period
    from pipeline.reports.registry import REPORTS

    for slug, (_title, report) in REPORTS.items():
        made = report(Period(date(2026, 10, 1), date(2026, 11, 30)))
        for text in [*made.notes, *(table.get("note", "") for table in made.tables)]:
            assert not INTERNAL.search(text), (slug, text)
