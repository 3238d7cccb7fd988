"""D6 abandonment: the app never dials automatically, and a call an agent logs as placed by
their own autodialer warns, naming the limits that dialer must keep."""

import ast
import inspect
from pathlib import Path

import pytest

from compliance import gate
from compliance.models import Channel, Purpose, RuleParameter, Technology, Verdict
from compliance.services import outreach_check
from pipeline.messaging import calls
from pipeline.models import StepKind
from pipeline.plans import runner

from ..leads.factories import ContactFactory, PhoneFactory
from .factories import ConsentRecordFactory, ReassignedNumberCheckFactory, RuleParameterFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("compliance", "leads", "leadcrm", "pipeline")


@pytest.fixture
def consented(lead):
    """The lead's number with written consent to autodialed calls and a fresh "not
    reassigned" (D5, D7), so only D6 has anything to say about an autodialed call."""
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone, covers_autodialer=True, covers_prerecorded=True)
    ReassignedNumberCheckFactory(phone=phone)
    return phone


def logged(lead, phone, agent, technology, channel=Channel.CALL):
    return outreach_check(lead=lead, contact_point=phone, channel=channel, purpose=Purpose.LISTING, actor=agent,
                          role_disclosed=True, technology=technology)


@pytest.mark.django_db
def test_d6_a_call_logged_from_the_agents_own_autodialer_warns_naming_the_limits(lead, agent, consented):
    decision = logged(lead, consented, agent, Technology.AUTODIALER)

    assert decision.verdict == Verdict.WARN and decision.rule_ids == ["D6"]
    [finding] = decision.findings
    assert "at most 3% of answered calls abandoned in each 30-day campaign" in finding.reason
    assert "within 2 seconds" in finding.reason and "at least 15 seconds or 4 rings" in finding.reason
    assert decision.evidence["abandonment_limits"] == {
        "abandon_max_percent": "3", "abandon_campaign_days": "30", "message_within_seconds": "2",
        "ring_min_seconds": "15", "ring_min_rings": "4"}


@pytest.mark.django_db
def test_d6_the_limits_named_are_the_rule_parameters_in_force(lead, agent, consented):
    # Counsel confirms a stricter ring time from today: the warning names it.
    RuleParameterFactory(rule="D6", key="ring_min_seconds", value=20, verified=True)
    [finding] = logged(lead, consented, agent, Technology.AUTODIALER).findings
    assert "at least 20 seconds or 4 rings" in finding.reason


@pytest.mark.django_db
@pytest.mark.parametrize(("technology", "channel"), [
    (Technology.MANUAL, Channel.CALL),
    (Technology.PRERECORDED, Channel.CALL),  # no live agent to abandon it: D4's consent governs it
    (Technology.AUTODIALER, Channel.SMS),
])
def test_d6_says_nothing_of_calls_by_hand_prerecorded_calls_or_texts(lead, agent, consented, technology, channel):
    decision = logged(lead, consented, agent, technology, channel)
    assert "D6" not in decision.rule_ids


def test_d6_is_in_the_gates_rule_chain():
    assert gate.abandonment in gate.RULE_CHAIN


# The app itself never dials automatically ---------------------------------------------------------


def app_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT), ast.parse(path.read_text())


def callers_of(name: str) -> set[tuple[str, str]]:
    """(module, enclosing function) of every call to a function or method named ``name``."""
    found = set()
    for path, tree in app_modules():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                    if called == name:
                        found.add((str(path), function.name))
    return found


def test_d6_only_click_to_call_places_calls_one_click_at_a_time():
    # The provider dials in one place, for one call; that place is reached only from the
    # click-to-call view (a person's click), never from a task, a plan or a loop over leads.
    assert callers_of("place_call") == {("pipeline/messaging/calls.py", "_place")}
    # (``_place`` is private to calls.py; moving_in has a method of that name of its own.)
    assert {caller for caller in callers_of("_place") if caller[0] == "pipeline/messaging/calls.py"} == {
        ("pipeline/messaging/calls.py", "call_start")}
    assert "_place" not in {name for path, tree in app_modules() if path != Path("pipeline/messaging/calls.py")
                            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                            for name in (alias.name for alias in node.names)}
    assert callers_of("call_start") == {("pipeline/messaging/call_views.py", "post")}


def test_d6_click_to_call_asks_the_gate_about_a_call_dialled_by_hand():
    tree = ast.parse(inspect.getsource(calls.call_start))
    asked = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", "") == "outreach_check"]
    assert asked, "call_start must ask the gate"
    for call in asked:
        technology = {keyword.arg: keyword.value for keyword in call.keywords}.get("technology")
        assert ast.unparse(technology) == "Technology.MANUAL"


def test_d6_action_plans_have_no_automated_call_step():
    # A plan step sends an email or a text, prints a letter or makes a task for a person;
    # a call is only ever a task (a follow-up) for the agent to dial by hand.
    assert set(StepKind.values) == {"email", "text", "letter", "task"}
    assert Channel.CALL not in runner.CHANNEL_OF.values()


@pytest.mark.django_db(transaction=True)
def test_d6_a_click_to_call_is_checked_and_recorded_as_dialled_by_hand(lead, agent, settings):
    settings.LEADCRM_TELEPHONY = "local"
    agent.call_phone = "+19185550199"
    agent.save(update_fields=["call_phone"])
    phone = PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550188")

    call = calls.call_start(lead=lead, phone=phone, actor=agent, role_disclosed=True)

    assert call.compliance_check.technology == Technology.MANUAL
    assert "D6" not in call.compliance_check.rule_ids


@pytest.mark.django_db
def test_d6_limits_are_seeded_as_unverified_rule_parameters():
    seeded = RuleParameter.objects.filter(rule="D6")
    assert {row.key: int(row.value) for row in seeded} == {
        "abandon_max_percent": 3, "abandon_campaign_days": 30, "message_within_seconds": 2,
        "ring_min_seconds": 15, "ring_min_rings": 4}
    assert not any(row.verified for row in seeded)
