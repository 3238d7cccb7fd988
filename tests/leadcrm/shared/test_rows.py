"""The per-page helpers of the busy list pages must say exactly what Django would."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince

from leadcrm.shared.rows import age, pk_url, short_moment


@pytest.mark.parametrize("name", ["leads:detail", "pipeline:follow_up_done", "pipeline:outreach_log"])
@pytest.mark.parametrize("pk", [1, 42, 987654320, 10**12])
def test_pk_url_is_reverse_for_every_pk(name, pk):
    assert pk_url(name)(pk) == reverse(name, args=[pk])


MOMENTS = [datetime(2026, 11, 28, h, m, tzinfo=UTC) for h, m in ((0, 0), (5, 7), (11, 59), (12, 0), (17, 30), (23, 59))]


@pytest.mark.parametrize("moment", MOMENTS + [datetime(2027, 1, 3, 9, 5, tzinfo=UTC), datetime(2026, 3, 8, 8, 30, tzinfo=UTC)])
@pytest.mark.parametrize("zone", ["America/Chicago", "Pacific/Honolulu", "UTC"])
def test_short_moment_says_what_djangos_date_filter_says_in_the_current_zone(moment, zone):
    with timezone.override(ZoneInfo(zone)):
        local = timezone.localtime(moment)
        assert short_moment(moment) == date_format(local, "M j, g:i A")
        assert short_moment(moment, weekday=True) == date_format(local, "D M j, g:i A")
        assert short_moment(moment, weekday=True, year=True) == date_format(local, "D M j, Y, g:i A")


NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("ago", [timedelta(seconds=20), timedelta(minutes=1), timedelta(minutes=59), timedelta(hours=1),
                                 timedelta(hours=23, minutes=59), timedelta(days=1), timedelta(days=6),
                                 timedelta(days=7), timedelta(days=20), timedelta(days=45), timedelta(days=200),
                                 timedelta(days=400), timedelta(days=1200)])
def test_age_is_timesince_with_one_unit(ago):
    assert age(NOW - ago, NOW) == timesince(NOW - ago, NOW, depth=1).replace("\xa0", " ")


def test_age_of_a_moment_in_the_future_is_zero_minutes():
    assert age(NOW + timedelta(hours=2), NOW) == "0 minutes"
