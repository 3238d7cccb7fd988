"""Call scripts and message templates: merge fields as agents write them, checked on save.

Agents write ``[First Name]``, ``[Property Address]``, ``[Agent Name]`` in their scripts,
as Podio and mail houses taught them. A template is refused when it promises what only
a lender can decide (F6) or misrepresents (F5, the same language rules as outreach),
names a merge field that does not exist, so a typo never reaches a homeowner as
"[Frist Name]", or, written for callers outside the licensee stay, lacks Regulation O's
notice (F3: docs/compliance-rules.md#f3).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction

from compliance import rules
from compliance.disclosures import missing_disclosures, missing_message, role_disclosure_sentence
from compliance.services import template_language_check
from leadcrm.accounts.models import Brokerage, Capacity, User
from leads.models import Contact, Lead
from leads.phones import format_national
from pipeline.deals.reg_o import disclosures_required_for, lead_total_fee, without_unstated_fee
from pipeline.models import MessageTemplate, TemplateKind, TemplateSituation

MERGE_FIELD = re.compile(r"\[([A-Za-z][A-Za-z .'-]{0,40})\]")
UNKNOWN_FIELDS = "Not a merge field: {fields}. Use one of: {known}."
SHARED_NEEDS_BROKER = "Only a broker edits the brokerage's shared templates; save a copy of your own instead."
SUBJECT_FOR_EMAIL = "An email needs a subject."


def _money(value) -> str:
    return f"${value:,.0f}" if value is not None else ""


# name (as agents type it, compared without case) -> value for (lead, owner, agent, brokerage)
MERGE_FIELDS: dict[str, Callable[[Lead, Contact | None, User, Brokerage], str]] = {
    "first name": lambda lead, owner, agent, firm: (owner.first_name if owner else "") or "there",
    "last name": lambda lead, owner, agent, firm: owner.last_name if owner else "",
    "owner name": lambda lead, owner, agent, firm: owner.display_name if owner else "Homeowner",
    "property address": lambda lead, owner, agent, firm: lead.property.street_line,
    "city": lambda lead, owner, agent, firm: lead.property.city,
    "state": lambda lead, owner, agent, firm: lead.property.state,
    "zip": lambda lead, owner, agent, firm: lead.property.zip_code,
    "mailing address": lambda lead, owner, agent, firm: owner.mailing_one_line if owner else "",
    "estimated value": lambda lead, owner, agent, firm: _money(lead.property.estimated_value),
    "agent name": lambda lead, owner, agent, firm: agent.get_full_name() or agent.username,
    "agent first name": lambda lead, owner, agent, firm: agent.first_name or agent.username,
    "agent phone": lambda lead, owner, agent, firm: format_national(agent.phone) if agent.phone else "",
    "agent email": lambda lead, owner, agent, firm: agent.email,
    "agent license": lambda lead, owner, agent, firm: agent.license_number,
    "brokerage": lambda lead, owner, agent, firm: firm.name,
    "brokerage address": lambda lead, owner, agent, firm: ", ".join(
        part for part in (firm.office_street, firm.office_city, f"{firm.office_state} {firm.office_zip}".strip())
        if part),
    "role disclosure": lambda lead, owner, agent, firm: role_disclosure_sentence(actor=agent, brokerage=firm,
                                                                                 lead=lead),
    # The fee Regulation O's notice names (F3): the lead's fees not waived; empty when none is
    # recorded, and an empty fee fails the notice's check when the message is sent.
    "total fee": lambda lead, owner, agent, firm: lead_total_fee(lead),
}
KNOWN_FIELDS = ", ".join(f"[{name.title()}]" for name in MERGE_FIELDS)


def merge_fields_in(text: str) -> list[str]:
    return [match.group(1) for match in MERGE_FIELD.finditer(text)]


def template_check(*, body: str, subject: str = "", kind: TemplateKind | str = TemplateKind.TEXT,
                   needs_disclosure: bool = False, fee_required: bool = True) -> None:
    """Refuse unknown merge fields, prohibited promises (F6) and representations (F5), and,
    when ``needs_disclosure``, a template without Regulation O's notice (F3), naming each.

    The notice's fee may be the ``[Total Fee]`` merge field here (the send requires the figure
    it fills in); without ``fee_required`` (a template for principals, who may charge no fee)
    the fee sentence is left to the send, which knows the lead's fees."""
    unknown = sorted({f"[{name}]" for name in merge_fields_in(subject + "\n" + body)
                      if name.strip().lower() not in MERGE_FIELDS})
    if unknown:
        raise ValidationError({"body": UNKNOWN_FIELDS.format(fields=", ".join(unknown), known=KNOWN_FIELDS)})
    try:
        template_language_check(subject + "\n" + body)
    except ValidationError as error:
        raise ValidationError({"body": error.messages}, code=error.code) from error
    if needs_disclosure:
        spoken = TemplateKind(kind) == TemplateKind.CALL_SCRIPT
        missing = missing_disclosures(body, spoken=spoken, template=True, fee_required=fee_required)
        if missing:
            raise ValidationError({"body": missing_message(missing, spoken=spoken)}, code=rules.DISCLOSURES.id)


def template_needs_disclosure(*, actor: User, capacity: Capacity | str, shared: bool) -> bool:
    """F3 applies to a template written for callers outside the licensee stay: one for
    investors buying for themselves, or an agent's own template when that agent is outside it.
    (A shared template for anyone is checked when a text or email made from it is sent.)"""
    if capacity == Capacity.PRINCIPAL:
        return True
    return not shared and disclosures_required_for(actor=actor, lead=None)


@transaction.atomic
def template_save(
    *,
    actor: User,
    name: str,
    kind: TemplateKind | str,
    body: str,
    subject: str = "",
    shared: bool = False,
    template: MessageTemplate | None = None,
    attach_guide: bool = False,
    capacity: Capacity | str = "",
    situation: TemplateSituation | str = TemplateSituation.ANY,
) -> MessageTemplate:
    """Create or change a template; shared (brokerage-wide) ones are the broker's.

    ``capacity``: the callers it is for (listing agents, investors), or "" for anyone.
    """
    from leadcrm.accounts.roles import Perm

    may_share = actor.has_perm(Perm.MANAGE_TEMPLATES)
    if (shared or (template is not None and template.is_shared)) and not may_share:
        raise ValidationError(SHARED_NEEDS_BROKER)
    if TemplateKind(kind) == TemplateKind.EMAIL and not subject.strip():
        raise ValidationError({"subject": SUBJECT_FOR_EMAIL})
    is_shared = shared or (template is not None and template.is_shared)
    template_check(body=body, subject=subject, kind=kind,
                   needs_disclosure=template_needs_disclosure(actor=actor, capacity=capacity, shared=is_shared),
                   fee_required=Capacity.PRINCIPAL not in (capacity, actor.capacity))
    template = template or MessageTemplate()
    template.name, template.kind, template.body, template.subject = name, kind, body, subject
    template.attach_guide = attach_guide and TemplateKind(kind) == TemplateKind.EMAIL
    template.capacity = capacity
    template.situation = situation
    template.owner = None if shared else (template.owner if template.pk else actor)
    template.updated_by = actor
    template.full_clean()
    template.save()
    return template


def call_scripts_for(*, user: User) -> list[MessageTemplate]:
    """The call scripts the user may read on a lead: theirs and the brokerage's, for anyone or
    for a caller in the user's capacity, those written for that capacity first.

    The script follows who calls, as the role disclosure it opens with does: an investor
    buying for themselves never gets the listing pitch, a listing agent never the investor's.
    """
    scripts = MessageTemplate.objects.usable_by(user).filter(kind=TemplateKind.CALL_SCRIPT)
    return sorted(scripts.for_capacity(user.capacity), key=lambda script: script.capacity != user.capacity)


def render(text: str, *, lead: Lead, agent: User, owner: Contact | None = None,
           brokerage: Brokerage | None = None) -> str:
    """The text with its merge fields filled in for this lead, owner and agent (without the
    notice's fee sentence where the agent states no fee: a principal with none recorded)."""
    brokerage = brokerage or Brokerage.objects.current()
    if owner is None:
        owner = next(iter(lead.contacts.all()), None)
    text = without_unstated_fee(text, actor=agent, lead=lead)

    def fill(match: re.Match) -> str:
        field = MERGE_FIELDS.get(match.group(1).strip().lower())
        return field(lead, owner, agent, brokerage) if field else match.group(0)

    return MERGE_FIELD.sub(fill, text)
