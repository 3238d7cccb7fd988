"""The repository speaks for itself: no internal reference (a tracker's issue number, a
design note or a compliance reference kept outside the repository) in its code,
templates, migrations, docs, pages, help texts, seeded rows or reports; and every citation
of the project's own docs (``docs/compliance-rules.md#d3``) points at a page and an anchor
that exist."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from compliance.rules import RULES

INTERNAL = re.compile(
    r"\bDOMAIN(?:\.md\b|\s*\d)|COMPLIANCE_RULES|\bissues?\s*#?\d+", re.IGNORECASE
)
ROOT = Path(settings.BASE_DIR)
DOCS = ROOT / "docs"

# Not ours, not shipped, or allowed to cite anything (the tests).
SKIPPED_DIRS = {"tests", "venv", "node_modules", "var", "media", "staticfiles", "htmlcov", "__pycache__"}
SKIPPED_PATHS = {Path("static") / "vendor"}
TEXT_SUFFIXES = {
    ".py", ".html", ".txt", ".md", ".js", ".css", ".toml", ".cfg", ".ini", ".in", ".yml", ".yaml",
    ".json", ".sh", ".example",
}
TEXT_NAMES = {"Makefile", "run", ".importlinter", "Dockerfile", "Procfile"}

# docs/<page>.md or docs/<page>.md#<anchor>, as code cites them.
DOCS_CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
# [text](page.md#anchor) or [text](#anchor), as the docs link to each other.
DOCS_LINK = re.compile(r"\]\((?!https?:|\.\./)([\w.-]+\.md)?(?:#([\w-]+))?\)")
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([\w-]+)["']""")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def repository_files(root: Path = ROOT, skipped: frozenset[Path] = frozenset()):
    """Every text file of the repository outside tests: code, templates, migrations, docs,
    configuration. Hidden folders (.git, .venv, caches) are skipped, except .ci."""
    skipped_paths = SKIPPED_PATHS | set(skipped)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        parts = relative.parts
        if any(part in SKIPPED_DIRS or (part.startswith(".") and part != ".ci") for part in parts[:-1]):
            continue
        if any(relative == s or s in relative.parents for s in skipped_paths):
            continue
        if not path.is_file() or (path.suffix not in TEXT_SUFFIXES and path.name not in TEXT_NAMES):
            continue
        yield relative


def internal_references(root: Path = ROOT, skipped: frozenset[Path] = frozenset()) -> list[str]:
    found = []
    for relative in repository_files(root, skipped):
        text = (root / relative).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in INTERNAL.finditer(line):
                found.append(f"{relative}:{number}: {match.group(0)}")
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"<[^>]+>|[`*_]", "", heading).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"\s", "-", text)


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    return set(EXPLICIT_ANCHOR.findall(text)) | {slug(h) for h in HEADING.findall(text)}


def unresolved(citations) -> list[str]:
    """Citations (where, page, anchor) whose page or anchor does not exist."""
    known: dict[str, set[str] | None] = {}
    broken = []
    for where, page, anchor in citations:
        if page not in known:
            path = DOCS / page
            known[page] = anchors(path) if path.is_file() else None
        if known[page] is None:
            broken.append(f"{where}: docs/{page} does not exist")
        elif anchor and anchor not in known[page]:
            broken.append(f"{where}: docs/{page} has no anchor #{anchor}")
    return broken


def test_no_file_in_the_repository_cites_an_internal_reference():
    assert (ROOT / "docs" / "README.md").is_file()
    assert internal_references() == []


def test_every_citation_of_the_docs_resolves():
    """In code, templates, migrations and tests alike: a citation is only useful if it leads
    somewhere."""
    citations = []
    this_file = Path(__file__).resolve().relative_to(ROOT.resolve())  # its examples cite on purpose
    tests = [path.relative_to(ROOT) for path in (ROOT / "tests").rglob("*.py")]
    files = [*repository_files(), *(path for path in tests if path != this_file)]
    for relative in files:
        text = (ROOT / relative).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in DOCS_CITATION.finditer(line):
                citations.append((f"{relative}:{number}", match.group(1), match.group(2)))
    assert any(page == "compliance-rules.md" and anchor for _, page, anchor in citations)
    assert unresolved(citations) == []


def test_every_link_between_the_docs_resolves():
    citations = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            for match in DOCS_LINK.finditer(line):
                target, anchor = match.group(1) or page.name, match.group(2)
                citations.append((f"docs/{page.name}:{number}", target, anchor))
    assert citations
    assert unresolved(citations) == []


@pytest.mark.django_db
def test_every_rule_has_its_entry_in_the_catalogue():
    from compliance.models import ProhibitedPhrase, RuleParameter

    codes = {*RULES, *RuleParameter.objects.values_list("rule", flat=True),
             *ProhibitedPhrase.objects.values_list("rule", flat=True)}
    catalogue = anchors(DOCS / "compliance-rules.md")
    assert sorted(code for code in codes if code.lower() not in catalogue) == []


def test_the_check_finds_what_it_is_for(tmp_path):
    """The scan itself: a citation in a module, a migration or a doc is found; tests are not
    scanned; a citation of a missing anchor is reported."""
    (tmp_path / "app" / "migrations").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "app" / "views.py").write_text('"""The pages (issue 12)."""\n')
    (tmp_path / "app" / "migrations" / "0002_seed.py").write_text('SOURCE = "COMPLIANCE_RULES.md A3"\n')
    (tmp_path / "docs" / "notes.md").write_text("See DOMAIN.md section 4.\n")
    (tmp_path / "tests" / "test_views.py").write_text("# issue 12: the pages\n")
    found = internal_references(tmp_path)
    assert found == [
        "app/migrations/0002_seed.py:1: COMPLIANCE_RULES",
        "app/views.py:1: issue 12",
        "docs/notes.md:1: DOMAIN.md",
    ]
    assert unresolved([("x.py:1", "compliance-rules.md", "d3"), ("x.py:2", "compliance-rules.md", "z9"),
                       ("x.py:3", "nowhere.md", None)]) == [
        "x.py:2: docs/compliance-rules.md has no anchor #z9",
        "x.py:3: docs/nowhere.md does not exist",
    ]
    assert unresolved([("x.py:4", "short-sales.md", "lien-stack"), ("x.py:5", "architecture.md", "the-parts")]) == []


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
def test_no_seeded_row_cites_an_internal_reference():
    """What the data migrations wrote (rule sources, phrases, scripts, the seller guide) is
    shown to people: it cites the law or nothing, never a file they cannot open."""
    cited = []
    for label in ("accounts", "leads", "compliance", "pipeline"):
        for model in apps.get_app_config(label).get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)]
            if not fields:
                continue
            for row in model._base_manager.values("pk", *fields):
                cited += [f"{model._meta.label}#{row['pk']}.{name}" for name in fields
                          if INTERNAL.search(str(row[name] or ""))]
    assert cited == []


@pytest.mark.django_db
def test_no_report_note_cites_an_internal_reference():
    from datetime import date

    from pipeline.reports.period import Period
    from pipeline.reports.registry import REPORTS

    for slug_, (_title, report) in REPORTS.items():
        made = report(Period(date(2026, 10, 1), date(2026, 11, 30)))
        for text in [*made.notes, *(table.get("note", "") for table in made.tables)]:
            assert not INTERNAL.search(text), (slug_, text)
