"""The rule catalogue in docs/compliance-rules.md#catalogue stays true: every rule the code
applies has a row, its code and test files exist, and each test file names the rule."""

import re
from pathlib import Path

from compliance import rules
from compliance.rules import Rule

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| ([A-H][0-9]+) \| (.+?) \| (.+?) \| (.+?) \|$", re.M)


def catalogue() -> dict[str, tuple[str, str]]:
    page = (ROOT / "docs" / "compliance-rules.md").read_text()
    # From the anchor to the next section: the catalogue's own heading and its table.
    table = page.split('<a id="catalogue"></a>', 1)[1].split("\n## ", 2)[1]
    return {code: (enforced, tested) for code, _rule, enforced, tested in ROW.findall(table)}


def paths(cell: str) -> list[str]:
    return re.findall(r"`([\w/.]+\.py)`", cell)


def applied_codes() -> set[str]:
    return {value.id for value in vars(rules).values() if isinstance(value, Rule) and re.fullmatch(r"[A-H]\d+",
                                                                                                      value.id)}


def test_every_rule_the_code_applies_has_a_row_with_its_code_and_its_tests():
    rows = catalogue()
    missing = applied_codes() - set(rows)
    assert not missing, f"add a catalogue row for {sorted(missing)}"
    for code in sorted(applied_codes()):
        enforced, tested = rows[code]
        assert paths(enforced), f"{code}: name the module that enforces it"
        assert paths(tested), f"{code}: name the tests that test it"


def test_every_file_the_catalogue_names_exists_and_each_test_file_names_its_rule():
    for code, (enforced, tested) in catalogue().items():
        for path in paths(enforced) + paths(tested):
            assert (ROOT / path).is_file(), f"{code}: {path} does not exist"
        for path in paths(tested):
            assert re.search(rf"\b{code}\b|test_{code.lower()}_", (ROOT / path).read_text()), (
                f"{code}: {path} never names the rule")


def test_the_catalogue_covers_every_code_from_a1_to_g3():
    expected = {f"{letter}{n}" for letter, count in zip("ABCDEFG", (6, 5, 5, 8, 4, 8, 3), strict=True)
                for n in range(1, count + 1)}
    assert set(catalogue()) == expected
