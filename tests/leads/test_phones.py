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


def test_the_fast_path_for_plain_numbers_agrees_with_phonenumbers():
    """Every plainly written number gets exactly what phonenumbers' full parse gives."""
    import random

    import phonenumbers

    from leads.phones import _plain_nanp

    rng = random.Random(3)
    spellings = ["({a}) {e}-{n}", "{a}.{e}.{n}", "+1 {a} {e} {n}", "{a}{e}{n}", "1 ({a}) {e} {n}", "{a}-{e}-{n}"]
    for _ in range(3000):
        a, e, n = rng.randrange(100, 1000), rng.randrange(0, 1000), rng.randrange(0, 10000)
        raw = rng.choice(spellings).format(a=f"{a:03d}", e=f"{e:03d}", n=f"{n:04d}")
        try:
            number = phonenumbers.parse(raw, "US")
            full = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_valid_number(number) else "")
        except phonenumbers.NumberParseException:
            full = ""
        fast = _plain_nanp(raw)
        assert fast in ("", full), raw  # fast never disagrees; "" falls back to the full parse
        assert parse_phone(raw).e164 == full, raw
