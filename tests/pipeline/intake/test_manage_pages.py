"""The broker's seller-form pages: who may open them, making and changing a form (its words
checked), the embed code, the submissions counted and paged without N+1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from pipeline.intake.services import (
    AUTODIALER_NOT_ASKED,
    PLAN_NOT_SHARED,
    default_consent_text,
    default_thank_you_text,
    seller_form_save,
)
from pipeline.models import FormSubmission, SellerForm, SubmissionOutcome
from pipeline.plans.services import StepInput, plan_save

from .conftest import SITE, form_url, post

pytestmark = pytest.mark.django_db


def pages(form):
    return [reverse("intake:list"), reverse("intake:new"), reverse("intake:detail", args=[form.pk]),
            reverse("intake:edit", args=[form.pk])]


def test_anonymous_is_sent_to_sign_in(seller_form, client_as):
    for url in pages(seller_form):
        response = client_as(None).get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client_as(None).post(reverse("intake:rotate", args=[seller_form.pk])).status_code == 302


@pytest.mark.parametrize("who", ["agent", "team_lead"])
def test_agents_and_team_leads_are_refused(seller_form, client_as, who, request):
    client = client_as(request.getfixturevalue(who))
    for url in pages(seller_form):
        assert client.get(url).status_code == 403
    old_key = seller_form.key
    assert client.post(reverse("intake:rotate", args=[seller_form.pk])).status_code == 403
    seller_form.refresh_from_db()
    assert seller_form.key == old_key


def test_the_broker_opens_every_page(seller_form, broker, client_as):
    client = client_as(broker)
    for url in pages(seller_form):
        assert client.get(url).status_code == 200
    assert client.get(reverse("intake:detail", args=[seller_form.pk + 99])).status_code == 404


def test_the_brokers_menu_links_the_forms(broker, agent, client_as):
    assert reverse("intake:list") in client_as(broker).get(reverse("plans:list")).content.decode()
    assert reverse("intake:list") not in client_as(agent).get(reverse("plans:list")).content.decode()


def test_a_new_form_starts_with_words_that_pass_the_checks(broker, brokerage, client_as):
    page = client_as(broker).get(reverse("intake:new")).content.decode()
    assert "Sunbelt Test Realty" in page and "not a condition" in page

    response = client_as(broker).post(reverse("intake:new"), {
        "name": "Facebook ad", "source": "web_form", "consent_text": default_consent_text(),
        "thank_you_text": default_thank_you_text(), "allowed_origins": "https://Ads.Example.com/\n", "plan": "",
        "is_active": "on"})

    form = SellerForm.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("intake:detail", args=[form.pk])
    assert (form.owner, form.allowed_origins, form.consent_covers_autodialer) == (broker, "https://ads.example.com",
                                                                                 False)
    assert len(form.key) >= 20


def test_prohibited_promises_and_bad_sites_are_refused_with_nothing_saved(broker, brokerage, client_as):
    response = client_as(broker).post(reverse("intake:new"), {
        "name": "Bad", "source": "web_form",
        "consent_text": "We will save your home. Reply STOP to stop. Not a condition of purchase.",
        "thank_you_text": "Guaranteed results!", "allowed_origins": "not a site\nhttps://ok.example/path",
        "plan": "", "is_active": "on"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "save your home" in page and "Guaranteed" in page and "not a site" in page and "ok.example/path" in page
    assert SellerForm.objects.count() == 0


def test_consent_words_must_say_how_to_stop_and_autodialing_only_when_asked(broker, brokerage):
    with pytest.raises(ValidationError) as refused:
        seller_form_save(actor=broker, name="x", consent_text="You may call me.", thank_you_text="Thanks.",
                         consent_covers_autodialer=True)
    errors = refused.value.message_dict
    assert any("how to stop" in error for error in errors["consent_text"])
    assert any("not a condition" in error for error in errors["consent_text"])
    with pytest.raises(ValidationError) as refused:
        seller_form_save(actor=broker, name="x", consent_text=default_consent_text(), thank_you_text="Thanks.",
                         consent_covers_autodialer=True)
    assert refused.value.message_dict["consent_covers_autodialer"] == [AUTODIALER_NOT_ASKED]


def test_only_a_shared_plan_may_start_on_form_leads(broker, agent, brokerage):
    own = plan_save(actor=agent, name="Mine", steps=[StepInput(kind="task", task_kind="call", subject="Call")])
    with pytest.raises(ValidationError) as refused:
        seller_form_save(actor=broker, name="x", consent_text=default_consent_text(), thank_you_text="Thanks.",
                         plan=own)
    assert refused.value.message_dict["plan"] == [PLAN_NOT_SHARED]


def test_the_forms_page_gives_the_embed_code_and_a_new_key_replaces_it(seller_form, broker, client_as):
    client = client_as(broker)
    page = client.get(reverse("intake:detail", args=[seller_form.pk])).content.decode()
    url = f"http://testserver{form_url(seller_form)}"
    assert f"&lt;iframe src=&quot;{url}&quot;" in page
    assert f"&lt;form action=&quot;{url}&quot; method=&quot;post&quot;" in page
    assert "name=&quot;website&quot;" in page  # the honeypot travels with the plain form
    old = seller_form.key

    response = client.post(reverse("intake:rotate", args=[seller_form.pk]))

    seller_form.refresh_from_db()
    assert response.status_code == 302 and seller_form.key != old and seller_form.key_rotated_at
    assert old not in client.get(reverse("intake:detail", args=[seller_form.pk])).content.decode()


def test_the_list_counts_outcomes_in_a_fixed_number_of_queries(seller_form, broker, brokerage, client_as,
                                                               django_assert_max_num_queries):
    other = seller_form_save(actor=broker, name="Mailer landing page", consent_text=default_consent_text(),
                             thank_you_text="Thanks.", allowed_origins=SITE)
    post(seller_form)
    post(seller_form, {"website": "spam"})
    post(other, {"street": ""})
    client = client_as(broker)
    client.get(reverse("intake:list"))  # warm the session and the brokerage

    with django_assert_max_num_queries(8) as few:
        page = client.get(reverse("intake:list")).content.decode()
    for _ in range(5):
        seller_form_save(actor=broker, name="More", consent_text=default_consent_text(), thank_you_text="Thanks.")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("intake:list"))
    assert "<span class=\"fw-semibold num\">1</span> new" in page
    assert "<span class=\"num\">1</span> refused" in page


def test_the_submissions_are_paged_with_their_outcomes(seller_form, broker, client_as,
                                                       django_assert_max_num_queries):
    now = timezone.now()
    post(seller_form)
    FormSubmission.objects.bulk_create([
        FormSubmission(form=seller_form, outcome=SubmissionOutcome.SPAM, address_hash="x" * 64,
                       received_at=now - timedelta(minutes=minutes)) for minutes in range(1, 31)])
    client = client_as(broker)
    url = reverse("intake:detail", args=[seller_form.pk])
    client.get(url)

    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert page.count("Refused as spam") == 24 and "1633 Elm Street" in page and "Page 1 of 2" in page
    assert "31</span> refused" not in page and "<span class=\"num\">30</span> refused" in page
    second = client.get(url + "?page=2").content.decode()
    assert second.count("Refused as spam") == 6
