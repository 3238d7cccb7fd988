"""The evidence list's "decided by rule" filter: the checks a count on the compliance page
or report says a rule decided, on PostgreSQL and on SQLite alike."""

import pytest
from django.urls import reverse

from compliance.admin import DecidedByFilter
from compliance.models import ComplianceCheck, Verdict, rules_that_decided

from ..helpers import admin_list_rows
from .factories import ComplianceCheckFactory

pytestmark = pytest.mark.django_db


def a_check(lead, agent, verdict, findings, rule_ids=None):
    return ComplianceCheckFactory(lead=lead, actor=agent, verdict=verdict, fired=findings,
                                  **({"rule_ids": rule_ids} if rule_ids is not None else {}))


def decided_by(rule):
    chosen = DecidedByFilter(None, {"decided_by": [rule]}, ComplianceCheck, None)
    return set(chosen.queryset(None, ComplianceCheck.objects.all()).values_list("pk", flat=True))


def test_each_rule_filters_the_checks_it_decided_as_the_report_counts_them(lead, agent, broker, client_as):
    # given
    blocked_by_a5 = a_check(lead, agent, Verdict.BLOCK, [("A5", "block", "Outside the window."),
                                                          ("F6", "warn", "Unverified number.")])
    warned_by_f6 = a_check(lead, agent, Verdict.WARN, [("F6", "warn", "Unverified number.")])
    # Its reason quotes another rule's code: only the rule of the finding decided it.
    blocked_by_d3 = a_check(lead, agent, Verdict.BLOCK, [("D3", "block", 'Say who you are first (see "A5").')])
    # Recorded without findings, or without one of its verdict: counted under the rules that fired.
    untold = a_check(lead, agent, Verdict.BLOCK, [], rule_ids=["C1"])
    only_warned = a_check(lead, agent, Verdict.BLOCK, [("F6", "warn", "Unverified number.")], rule_ids=["B1", "F6"])
    a_check(lead, agent, Verdict.ALLOW, [])
    expected = {
        "A5": {blocked_by_a5.pk},
        "D3": {blocked_by_d3.pk},
        "F6": {warned_by_f6.pk, only_warned.pk},
        "C1": {untold.pk},
        "B1": {only_warned.pk},
        "E2": set(),
    }
    # The report's own reading of the same rows agrees with what is expected of the filter.
    counted = {rule: {check.pk for check in ComplianceCheck.objects.all()
                      if rule in rules_that_decided(check.verdict, check.rule_ids, check.findings)}
               for rule in expected}
    assert counted == expected

    # when / then
    assert {rule: decided_by(rule) for rule in expected} == expected
    client = client_as(broker)
    for rule, checks in expected.items():
        assert admin_list_rows(client, reverse("admin:compliance_compliancecheck_changelist")
                               + f"?decided_by={rule}") == len(checks)
