"""Where a homeowner is: the state of every area code (E1, E2) and the zones of a number (G1)."""

import phonenumbers
import pytest
from phonenumbers import geocoder

from compliance.places import area_code_state


@pytest.mark.parametrize("area_code, state", [
    ("850", "FL"), ("210", "TX"), ("726", "TX"), ("728", "FL"), ("206", "WA"), ("509", "WA"),
    ("202", "DC"), ("212", "NY"), ("773", "IL"), ("801", "UT"), ("800", None), ("900", None),
])
def test_area_codes_named_by_city_or_by_an_alias_still_give_their_state(area_code, state):
    assert area_code_state(area_code) == state


def test_every_geographic_us_area_code_maps_to_a_state():
    unmapped = []
    for code in range(200, 1000):
        number = phonenumbers.parse(f"+1{code}5550100", None)
        if phonenumbers.region_code_for_number(number) != "US" or not geocoder.description_for_number(number, "en"):
            continue  # toll-free, Canada, the Caribbean, unassigned
        if area_code_state(str(code)) is None:
            unmapped.append((code, geocoder.description_for_number(number, "en")))
    assert unmapped == []
