"""Sessions end when left idle, when their user signs out everywhere else, and when the
password changes (docs/security.md#sessions)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.middleware import LAST_SEEN_KEY

from ..factories import PASSWORD, AgentFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a new and long passphrase 42"


@pytest.fixture
def user(db):
    return AgentFactory(username="ana", email="ana@example.com")


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_session_idle_past_the_setting_is_signed_out_on_its_next_request(user, settings):
    assert settings.LEADCRM_SESSION_IDLE_SECONDS == 8 * 3600
    client = signed_in(user)
    assert client.get(reverse("pipeline:dashboard")).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=7, minutes=59)):
        assert client.get(reverse("pipeline:dashboard")).status_code == 200  # used: the clock restarts
    with time_machine.travel(timezone.now() + timedelta(hours=16)):
        response = client.get(reverse("pipeline:dashboard"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert "_auth_user_id" not in client.session
        page = client.get(response["Location"]).content.decode()
        assert "You were signed out after 8 hours without using LeadCRM" in page


def test_the_last_seen_time_is_written_at_most_once_a_minute(user):
    client = signed_in(user)
    client.get(reverse("pipeline:dashboard"))
    first = client.session[LAST_SEEN_KEY]
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        client.get(reverse("pipeline:dashboard"))
        assert client.session[LAST_SEEN_KEY] == first
    with time_machine.travel(timezone.now() + timedelta(seconds=90)):
        client.get(reverse("pipeline:dashboard"))
        assert client.session[LAST_SEEN_KEY] >= first + 90


def test_sign_out_everywhere_ends_the_other_sessions_and_keeps_this_one(user):
    here, phone, laptop = signed_in(user), signed_in(user), signed_in(user)
    laptop.get(reverse("pipeline:dashboard"))  # its session now sits in the cache too
    response = here.post(reverse("pipeline:my_settings"), {"action": "sessions_end"})
    assert response.status_code == 302
    assert here.get(reverse("pipeline:dashboard")).status_code == 200
    for other in (phone, laptop):
        response = other.get(reverse("pipeline:dashboard"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "Sign out everywhere else" in here.get(reverse("pipeline:my_settings")).content.decode()


def test_changing_the_password_ends_the_other_sessions(user):
    here, elsewhere = signed_in(user), signed_in(user)
    page = here.get(reverse("password_change"))
    assert page.status_code == 200
    response = here.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                      "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("pipeline:my_settings")
    assert here.get(reverse("pipeline:dashboard")).status_code == 200
    assert elsewhere.get(reverse("pipeline:dashboard")).status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def reset_link() -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[-1].body).group(1)


def test_a_reset_says_the_same_whether_or_not_the_email_is_ours(user):
    known = Client().post(reverse("password_reset"), {"email": "ana@example.com"})
    unknown = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == (
        302, reverse("password_reset_done"))
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@example.com"]
    assert "works once, within 1 hour" in mail.outbox[0].body
    page = Client().get(reverse("password_reset_done")).content.decode()
    assert "If that address belongs to a LeadCRM account" in page


def test_a_reset_link_works_once_and_ends_every_session(user):
    elsewhere = signed_in(user)
    Client().post(reverse("password_reset"), {"email": "ana@example.com"})
    link = reset_link()
    client = Client()
    form_url = client.get(link)["Location"]  # Django swaps the token for a session key
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_complete")
    assert elsewhere.get(reverse("pipeline:dashboard")).status_code == 302
    again = Client().get(link, follow=True).content.decode()
    assert "This link has been used already or is too old" in again
    assert Client().post(reverse("login"), {"username": "ana", "password": NEW_PASSWORD}).status_code == 302


def test_a_reset_link_expires_after_the_setting(user, settings):
    assert settings.PASSWORD_RESET_TIMEOUT == 3600
    Client().post(reverse("password_reset"), {"email": "ana@example.com"})
    link = reset_link()
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        page = Client().get(link, follow=True).content.decode()
        assert "This link has been used already or is too old" in page


def test_resets_are_rate_limited_silently(user, settings):
    for _ in range(settings.LEADCRM_PASSWORD_RESETS_PER_EMAIL + 2):
        response = Client().post(reverse("password_reset"), {"email": "ana@example.com"},
                                 REMOTE_ADDR="198.51.100.4")
        assert response.status_code == 302  # the same answer: a prober learns nothing
    assert len(mail.outbox) == settings.LEADCRM_PASSWORD_RESETS_PER_EMAIL
    mail.outbox.clear()
    for index in range(settings.LEADCRM_PASSWORD_RESETS_PER_ADDRESS + 2):  # many users, one address
        AgentFactory(email=f"agent{index}@example.com")
        Client().post(reverse("password_reset"), {"email": f"agent{index}@example.com"}, REMOTE_ADDR="192.0.2.4")
    assert len(mail.outbox) == settings.LEADCRM_PASSWORD_RESETS_PER_ADDRESS


def test_the_sign_in_page_offers_the_reset():
    assert reverse("password_reset") in Client().get(reverse("login")).content.decode()
