"""May this call be recorded with only the announcement (D8)?

Federal law lets one party consent (18 U.S.C. 2511(2)(d)); some states need every party's.
Which states do is data: the ``D8 all_party_<state>`` rule parameters (seeded by
compliance/migrations/0015, edited by a broker), read through the rulebook. The states
that count are the gate's own for the homeowner (E1: the area code's where presumed, the
property's, the mailing address's), and, since recording law follows either end of the line,
also the number's area-code state even where E1 presumes nothing, the office's state, and
the state of the agent's own phone. See docs/compliance-rules.md#d8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from leadcrm.accounts.models import User
from leads.models import Lead, Phone
from leads.phones import parse_phone

from .gate import Attempt, resolve_contact_point
from .models import Channel, CheckMode, Purpose, Verdict
from .places import area_code_state
from .rulebook import rulebook

RECORDING_OFF = "The brokerage does not record calls (a broker turns recording on in the brokerage settings)."
NO_STATE = (
    "No state of the homeowner can be told (no area code, property or mailing state): record only once "
    "every party has agreed on the call, or don't record."
)
ANNOUNCEMENT_ENOUGH = (
    "Announce the recording at the start of the call. No state that applies ({states}) requires more than "
    "one party's consent."
)
ALL_PARTY = (
    "{states} require{s} every party's consent to record a call: record only once the homeowner has agreed "
    "on the call (the script asks), or don't record."
)
NOT_THIS_LEAD = "Recording: {reason}"


@dataclass(frozen=True)
class RecordingDecision:
    """``allowed``: the call may be recorded with only the announcement. When False, it is
    recorded only once every party's consent is captured on the call (``all_party_states``
    says where that is the law), or not at all (recording off, or the number not this lead's)."""

    allowed: bool
    all_party_states: list[str]
    reason: str
    # Every state considered, and why it applies (evidence for the call's record).
    states: dict[str, str] = field(default_factory=dict)


def recording_states(*, lead: Lead, phone: Phone | str, at: datetime, agent: User | None = None) -> dict[str, str]:
    """The states whose recording law may apply to a call to ``phone`` of ``lead``, and why.

    Raises ``ValueError`` with the gate's own reason when ``phone`` is not a number of the lead.
    """
    book = rulebook()
    attempt = Attempt(lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING, actor=agent or lead.assigned_agent or User(), at=at,
                      role_disclosed=True, brokerage=book.brokerage, contact_point=phone,
                      mode=CheckMode.PREVIEW)
    refused = [finding for finding in resolve_contact_point(attempt) if finding.severity == Verdict.BLOCK]
    if refused:
        raise ValueError(refused[0].reason)
    states = dict(attempt.states)
    code_state = area_code_state(attempt.area_code) if attempt.area_code else None
    if code_state:
        states.setdefault(code_state, f"area code {attempt.area_code}")
    if book.brokerage.office_state:
        states.setdefault(book.brokerage.office_state, "the office")
    agent_phone = parse_phone(getattr(agent, "call_phone", "") or "") if agent is not None else None
    if agent_phone is not None and agent_phone.ok and agent_phone.e164.startswith("+1"):
        agent_state = area_code_state(agent_phone.e164[2:5])
        if agent_state:
            states.setdefault(agent_state, "the agent's phone")
    return states


def recording_decision(*, lead: Lead, phone: Phone | str, at: datetime, agent: User | None = None) -> RecordingDecision:
    """Whether a call to ``phone`` of ``lead`` at ``at`` may be recorded with the announcement
    alone (D8). Fails closed: recording off, an unknown number or no known state says no."""
    book = rulebook()
    if not book.brokerage.record_calls:
        return RecordingDecision(allowed=False, all_party_states=[], reason=RECORDING_OFF)
    try:
        states = recording_states(lead=lead, phone=phone, at=at, agent=agent)
    except ValueError as refused:
        return RecordingDecision(allowed=False, all_party_states=[], reason=NOT_THIS_LEAD.format(reason=refused))
    if not states:
        return RecordingDecision(allowed=False, all_party_states=[], reason=NO_STATE)
    all_party = sorted(set(states) & book.all_party_states(at.astimezone(UTC).date()))
    if all_party:
        named = ", ".join(f"{state} ({states[state]})" for state in all_party)
        return RecordingDecision(allowed=False, all_party_states=all_party, states=states,
                                 reason=ALL_PARTY.format(states=named, s="s" if len(all_party) == 1 else ""))
    return RecordingDecision(allowed=True, all_party_states=[], states=states,
                             reason=ANNOUNCEMENT_ENOUGH.format(states=", ".join(sorted(states))))
