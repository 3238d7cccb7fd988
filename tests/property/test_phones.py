"""Phone numbers as people and vendors type them (leads/phones.py), as properties.

Any spelling of a valid US number (parentheses, dots, dashes, spaces, a leading 1 or +1,
an extension) parses to the one E.164 number; anything else never raises and comes back
refused with a reason an import can show (FC: a call needs a valid number).
"""

import re
import string

import phonenumbers
from hypothesis import assume, example, given
from hypothesis import strategies as st

from leads.phones import format_national, parse_phone

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@st.composite
def us_numbers(draw) -> str:
    """Ten digits of a number phonenumbers holds valid in the US (the oracle), as E.164."""
    area = draw(st.integers(200, 999))
    exchange = draw(st.integers(200, 999))
    line = draw(st.integers(0, 9999))
    e164 = f"+1{area}{exchange}{line:04d}"
    number = phonenumbers.parse(e164, None)
    assume(phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "US")
    return e164


@st.composite
def spellings(draw, e164: str) -> str:
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    sep = draw(st.sampled_from(["", " ", "-", ".", "  ", " - "]))
    sep2 = draw(st.sampled_from([sep, "-", " ", "."]))
    head = f"({area}){draw(st.sampled_from(['', ' ']))}" if draw(st.booleans()) else area + sep
    prefix = draw(st.sampled_from(["", "1", "1-", "1 ", "+1", "+1 ", "+1-", "+1.", "1."]))
    if prefix and head.startswith("(") and prefix[-1].isdigit():
        prefix += " "
    extension = draw(st.sampled_from(["", " x{n}", " ext. {n}", " ext {n}", " x. {n}", " extension {n}", " #{n}"]))
    digits = draw(st.integers(1, 99999))
    pad = draw(st.sampled_from(["", " ", "\t", "  "]))
    return pad + prefix + head + exchange + sep2 + line + extension.format(n=digits) + pad


@given(data=st.data(), e164=us_numbers())
@example(data=None, e164="+19185550104")
def test_fc_any_spelling_of_a_us_number_parses_to_the_same_e164(data, e164):
    written = [e164, e164[2:]]
    if data is not None:
        written += [data.draw(spellings(e164)) for _ in range(4)]
    parsed = {raw: parse_phone(raw) for raw in written}
    assert {raw: (p.e164, p.error) for raw, p in parsed.items()} == {raw: (e164, "") for raw in written}


@given(e164=us_numbers())
def test_fc_a_parsed_number_reads_back_the_same_from_its_display_form(e164):
    shown = format_national(e164)
    assert parse_phone(shown).e164 == e164
    assert parse_phone(parse_phone(shown).e164).e164 == e164


GARBAGE = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=string.digits + " ()-.+x/#", max_size=30),
    st.text(alphabet=string.digits, max_size=25),
    st.from_regex(r"\A\+?[0-9 ()\-.]{0,20}(x\d{0,6})?\Z"),
)


@given(raw=GARBAGE)
@example(raw="555-0104")  # no area code
@example(raw="(123) 555-0104")  # no such area code
@example(raw="+44 20 7946 0000")  # valid, abroad
@example(raw="\x00\x00")
@example(raw="1" * 300)
@example(raw="+")
def test_fc_anything_typed_never_raises_and_is_a_number_or_a_reason(raw):
    parsed = parse_phone(raw)
    if parsed.ok:
        assert E164.match(parsed.e164), parsed
        assert phonenumbers.is_valid_number(phonenumbers.parse(parsed.e164, None))
    else:
        assert parsed.e164 == "" and parsed.error.strip(), parsed
