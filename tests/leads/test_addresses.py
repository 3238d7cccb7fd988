import pytest

from leads.addresses import address_key, normalize_street, normalize_unit, zip5


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("1633 Elm Street", "1633 ELM ST"),
        ("1633 elm st.", "1633 ELM ST"),
        ("  1633   ELM   STREET  ", "1633 ELM ST"),
        ("8704 Troost Avenue", "8704 TROOST AVE"),
        ("100 North Main Boulevard", "100 N MAIN BLVD"),
        ("12 Park Avenue", "12 PARK AVE"),  # "Park" is the name here, not a suffix
        ("55 South West Parkway", "55 S W PKWY"),
    ],
)
def test_normalize_street_uses_usps_abbreviations(written, normalized):
    assert normalize_street(written) == normalized


@pytest.mark.parametrize("unit", ["Apt 4B", "apt. 4b", "#4B", "# 4B", "Unit 4B", "Suite 4b"])
def test_every_unit_designator_collapses_to_the_unit_itself(unit):
    assert normalize_unit(unit) == "4B"


def test_same_house_written_two_ways_has_one_key():
    # given the same door as two lists spell it
    a = address_key(street="2571 Pine Road", unit="Apt. 2", city="Tulsa", state="ok", zip_code="74130-1486")
    b = address_key(street="2571 PINE RD #2", city="TULSA", state="OK", zip_code="74130")
    # then
    assert a == b == "2571 PINE RD|2|74130"


def test_key_falls_back_to_city_and_state_without_a_zip():
    assert address_key(street="12 Oak Ln", city="Tulsa", state="OK") == "12 OAK LN||TULSA OK"


def test_zip_restores_a_dropped_leading_zero():
    assert zip5("2134") == "02134"
    assert zip5("02134-1234") == "02134"
    assert zip5("n/a") == ""
