"""The seeded rule sources name the law (migrations 0004 and 0011): a database seeded
before gets the same text as a new one, and a source a broker rewrote is left alone."""

from importlib import import_module

import pytest
from django.apps import apps

from compliance.models import ProhibitedPhrase, RuleParameter

pytestmark = pytest.mark.django_db

seed = import_module("compliance.migrations.0004_seed_rules")
rewrite = import_module("compliance.migrations.0011_rule_sources_in_our_words")

# What 0004 seeded before it cited the law.
OLD_WARN_AGE = "COMPLIANCE_RULES.md A3"
OLD_MAX_ZONES = "COMPLIANCE_RULES.md G2"
OLD_PHRASES = "COMPLIANCE_RULES.md F6: FTC Facts Feb 2008; OCC Advisory 2011-1; CFPB; Reg O 1015.3"


def _parameter(rule: str, key: str) -> RuleParameter:
    return RuleParameter.objects.get(rule=rule, key=key)


def test_a_new_database_is_seeded_with_the_legal_sources():
    assert _parameter("A3", "warn_age_days").source == rewrite.WARN_AGE
    assert _parameter("G2", "max_phone_zones").source == rewrite.MAX_ZONES
    # The F6 rows 0004 seeded; F5's (0021) cite 12 CFR 1015.3(a) or (b) themselves.
    assert set(ProhibitedPhrase.objects.filter(rule="F6").values_list("source", flat=True)) == {rewrite.PHRASES}
    # 0011 writes out the same text as 0004, so both kinds of database end alike.
    assert seed.PHRASE_SOURCE == rewrite.PHRASES


def test_a_database_seeded_before_gets_the_same_text():
    # given the rows as the old 0004 left them
    RuleParameter.objects.filter(rule="A3", key="warn_age_days").update(source=OLD_WARN_AGE)
    RuleParameter.objects.filter(rule="G2", key="max_phone_zones").update(source=OLD_MAX_ZONES)
    ProhibitedPhrase.objects.update(source=OLD_PHRASES)

    # when 0011 runs
    rewrite.cite_sources(apps, None)

    # then
    assert _parameter("A3", "warn_age_days").source == rewrite.WARN_AGE
    assert _parameter("G2", "max_phone_zones").source == rewrite.MAX_ZONES
    # The F6 rows 0004 seeded; F5's (0021) cite 12 CFR 1015.3(a) or (b) themselves.
    assert set(ProhibitedPhrase.objects.filter(rule="F6").values_list("source", flat=True)) == {rewrite.PHRASES}


def test_a_source_the_broker_rewrote_is_kept():
    RuleParameter.objects.filter(rule="A3", key="warn_age_days").update(source="Our counsel's memo of May 2026")
    ProhibitedPhrase.objects.filter(label="no risk").update(source=OLD_PHRASES + " and our counsel")

    rewrite.cite_sources(apps, None)

    assert _parameter("A3", "warn_age_days").source == "Our counsel's memo of May 2026"
    assert ProhibitedPhrase.objects.get(label="no risk").source == OLD_PHRASES + " and our counsel"
