import pytest

from leads.phones import format_national, parse_phone, search_digits


@pytest.mark.parametrize(
    "written",
    ["(918) 555-0104", "918-555-0104", "918.555.0104", "9185550104", "+1 918 555 0104",
     "1-918-555-0104", "918 555 0104 ext. 12"],
)
def test_phones_written_any_way_parse_to_e164(written):
    parsed = parse_phone(written)
    assert parsed.ok, parsed.error
    assert parsed.e164 == "+19185550104"


@pytest.mark.parametrize(
    ("written", "reason_contains"),
    [
        ("", "No phone number"),
        ("n/a", "No digits"),
        ("555-0104", "no area code"),
        ("123", "wrong number of digits"),
        ("(123) 555-0104", "not a valid number"),
        ("(918) 055-0104", "not a valid number"),
    ],
)
def test_unparseable_phones_say_why(written, reason_contains):
    parsed = parse_phone(written)
    assert not parsed.ok
    assert reason_contains in parsed.error


def test_format_national_and_search_digits():
    assert format_national("+19185550104") == "(918) 555-0104"
    assert search_digits("+1 (918) 555-0104") == "9185550104"
