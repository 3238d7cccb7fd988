"""The import direction (.importlinter, docs/architecture.md) holds, and the contract bites:
an upward import added inside a function body, where a reader would not see it at the top
of the module, fails ``lint-imports`` with the offending line named."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGES = ("leadcrm", "leads", "compliance", "pipeline")
UPWARD = '''

def _peek_at_follow_ups():
    from pipeline.models import FollowUp

    return FollowUp
'''


def _lint_imports(project: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]
    return subprocess.run([*command, "--no-cache", "--no-logo", str(project / ".importlinter")], cwd=project,
                          env={**os.environ, "PYTHONPATH": str(project)}, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def project_copy(tmp_path):
    """The four packages and the contract, copied as they are in the repository."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


@pytest.mark.slow
def test_the_contract_holds_and_fails_on_an_upward_import_inside_a_function(project_copy):
    # given the packages as they are
    kept = _lint_imports(project_copy)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "2 kept, 0 broken" in kept.stdout

    # when a leads module reaches up into pipeline from inside a function
    scoring = project_copy / "leads" / "scoring.py"
    scoring.write_text(scoring.read_text(encoding="utf-8") + UPWARD, encoding="utf-8")
    broken = _lint_imports(project_copy)

    # then the contract is broken, naming the import
    assert broken.returncode != 0
    assert "leads is not allowed to import pipeline" in broken.stdout
    assert "leads.scoring -> pipeline.models" in broken.stdout


DOWN_TO_UP_INSIDE_PIPELINE = '''

def _peek_at_the_dashboard():
    from pipeline.workspace.dashboard import DashboardView

    return DashboardView
'''


@pytest.mark.slow
def test_a_pipeline_part_reaching_up_to_the_pages_breaks_the_capability_order(project_copy):
    # given reminders (a lower part) importing the workspace's dashboard inside a function
    rules = project_copy / "pipeline" / "reminders" / "rules.py"
    rules.write_text(rules.read_text(encoding="utf-8") + DOWN_TO_UP_INSIDE_PIPELINE, encoding="utf-8")

    # when the contracts are checked
    broken = _lint_imports(project_copy)

    # then only pipeline's capability order is broken, and the import is named
    assert broken.returncode != 0
    assert "1 kept, 1 broken" in broken.stdout
    assert "pipeline.reminders is not allowed to import pipeline.workspace" in broken.stdout
    assert "pipeline.reminders.rules -> pipeline.workspace.dashboard" in broken.stdout
