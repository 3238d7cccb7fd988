"""A seller form of the brokerage, and posting to it as a homeowner's browser does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pipeline.intake import spam
from pipeline.intake.services import default_consent_text, default_thank_you_text, seller_form_save

SITE = "https://www.sunbelt-homes.example"
HOMEOWNER_ADDRESS = "203.0.113.7"


@pytest.fixture
def seller_form(broker, brokerage):
    return seller_form_save(actor=broker, name="Website: short sale help", consent_text=default_consent_text(),
                            thank_you_text=default_thank_you_text(), allowed_origins=SITE)


def sent(**changes) -> dict:
    """What the homeowner types; a change of None leaves the field out."""
    data = {"first_name": "Maria", "last_name": "Garcia", "street": "1633 Elm Street", "unit": "", "city": "Tulsa",
            "state": "OK", "zip_code": "74130", "phone": "(918) 555-0131", "other_phone": "", "email":
            "maria@example.com", "hardship": "Lost my job in March; the bank sent a letter.", "behind": "3-5",
            "best_time": "evening", "consent": "on", "website": "", "page": f"{SITE}/short-sale-help"}
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def form_url(form) -> str:
    return reverse("intake:public", args=[form.key])


def post(form, data=None, *, seconds_ago: float | None = 30, address=HOMEOWNER_ADDRESS, client=None, **headers):
    """POST as a browser that opened the form ``seconds_ago`` (None: no token, a plain HTML form)."""
    data = dict(sent() if data is None else data)
    if seconds_ago is not None:
        data["started"] = spam.started_token(form, now=timezone.now() - timedelta(seconds=seconds_ago))
    client = client or Client(enforce_csrf_checks=True)
    return client.post(form_url(form), data, REMOTE_ADDR=address, HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Test",
                       **headers)
