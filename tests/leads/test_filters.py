"""The lead list's search: long input is refused with a message, never a slow page or a 500."""

import pytest
from django.urls import reverse

from compliance.selectors import lead_list
from leads.filters import SEARCH_MAX_LENGTH, SEARCH_TOO_LONG, search_q
from leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["1 " * 5000, "918" + " " * 9990 + "5550104", "5" + " " * 9998 + "5",
                                  "#" + " " * 9998 + "x12"])
def test_a_10000_character_search_is_refused_with_a_message(text, lead, agent, client_as):
    # when
    response = client_as(agent).get(reverse("leads:list"), {"q": text})

    # then: the page, the message, and the search not run (the list as if unsearched)
    assert response.status_code == 200
    length = len(text.strip())
    assert SEARCH_TOO_LONG % {"show_value": length, "limit_value": SEARCH_MAX_LENGTH} in response.content.decode()
    leads, lead_filter = lead_list(fetched_by=agent, filters={"q": text})
    assert list(lead_filter.errors) == ["q"]
    assert list(leads) == [lead]


def test_a_search_of_100_characters_is_run(lead, agent):
    text = "918-555-0104" + " " * (SEARCH_MAX_LENGTH - 12 - 7) + "ext. 12"
    assert len(text) == SEARCH_MAX_LENGTH
    leads, lead_filter = lead_list(fetched_by=agent, filters={"q": text})
    assert not lead_filter.errors
    assert list(leads) == [lead]


@pytest.mark.parametrize(("text", "found"), [
    ("0000" + " " * 9992 + "0000", 0),
    ("#" + " " * 9998 + "#", 0),
    (" " * 5000 + "918 555 0104" + " " * 5000 + "x 12", 1),
])
def test_search_q_reads_a_long_run_of_spaces_in_one_pass(text, found, lead):
    """The extension pattern has no leading \\s* to try from every space of the run (it
    was quadratic); the search still finds what it should."""
    assert Lead.objects.filter(search_q(text)).count() == found


def test_an_extension_is_still_dropped_from_a_number(lead, agent):
    for spelling in ("918-555-0104 ext. 12", "918 555 0104   x12  ", "(918) 555-0104#12"):
        assert list(lead_list(fetched_by=agent, filters={"q": spelling})[0]) == [lead]
