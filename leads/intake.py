"""A lead added by hand: a referral, an inbound call, a sign call, a door knock.

The address is read and deduplicated as an import reads it (``leads.imports.records``'
state and ZIP reading, ``leads.addresses.address_key``), so a house typed in and the same
house on a list are one lead. A house already held is never created twice: a lead the
agent may see is opened (or, when asked, given the new owners and numbers); one they may
not see is named as worked by the brokerage, and nothing about it is said.

Everything is written in one transaction; the new phones are flagged against the
Do-Not-Call lists (``phones_changed``, compliance's receiver) before the page shows them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import users_assignable_by

from .addresses import address_key, zip5
from .editing import MONEY_MAX
from .imports.records import _state as state_code
from .imports.records import _zip_place as zip_place
from .models import Contact, ContactSource, Lead, LeadSource, LeadType, Phone, PhoneType, Property
from .phones import parse_phone
from .routing import leads_route_by_rules
from .services import contact_create, email_add, lead_assign, lead_create, phone_add, property_create
from .signals import phones_changed

# The sources an agent picks for a lead they add themselves.
BY_HAND_SOURCES = [
    (LeadSource.REFERRAL, "Referral"),
    (LeadSource.INBOUND, "Inbound call"),
    (LeadSource.SIGN_CALL, "Sign call"),
    (LeadSource.DOOR_KNOCK, "Door knock"),
    (LeadSource.OTHER, "Other"),
]
# The lead type a source implies when the agent names none.
TYPE_OF_SOURCE = {
    LeadSource.REFERRAL: LeadType.REFERRAL,
    LeadSource.INBOUND: LeadType.INBOUND,
    LeadSource.SIGN_CALL: LeadType.INBOUND,
}
# The one limit of every amount typed by hand (leads.editing), far above any house a short
# sale is made on: a value past it is a typing slip.
MAX_ESTIMATED_VALUE = MONEY_MAX

NO_STREET = "Enter the street address of the house."
NO_PLACE = "Enter the ZIP code (or the city and the state) of the house."
BAD_STATE = "{value!r} is not a US state: use its two letters, e.g. OK."
BAD_ZIP = "A ZIP code has five digits (ZIP+4 is fine): {value!r} is not one."
BAD_EMAIL = "{value!r} is not an email address (it needs a name, an @ and a domain)."
NO_OWNER = "Name at least one owner: a person's first or last name, or a company."
VALUE_TOO_HIGH = "The estimated value can be at most ${limit:,.0f}."
VALUE_NEGATIVE = "The estimated value cannot be negative."
NOT_YOUR_AGENT = "You cannot give a lead to {agent}: pick one of the agents you assign to."
ALREADY_YOURS = ("This house is already in your leads: here it is. Nothing was added; to add the owners "
                 "and numbers you typed, tick \"add them to it\" on the New lead page.")
WORKED_BY_BROKERAGE = ("This house is already worked by the brokerage: it cannot be added again. "
                       "Ask your team lead if the homeowner reached you.")
NO_RULE_MATCHED = "Added by hand; no routing rule matched"
ADDED_TO_EXISTING = "This house was already in your leads: the owners and numbers were added to it."


@dataclass
class OwnerIn:
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""

    @property
    def named(self) -> bool:
        return bool(self.first_name or self.last_name or self.company_name)


@dataclass
class Intake:
    """What the agent typed, as the form read it (text trimmed; nothing checked yet)."""

    street: str
    state: str = ""
    unit: str = ""
    city: str = ""
    zip_code: str = ""
    owners: list[OwnerIn] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    # A number's type when the caller knows it (the API), by the number as typed; else unknown.
    phone_types: dict[str, str] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    mailing: dict = field(default_factory=dict)  # mailing_street ...; empty: the property
    source: str = LeadSource.OTHER
    lead_type: str = ""
    estimated_value: Decimal | None = None
    add_to_existing: bool = False


@dataclass
class Added:
    """What happened: ``created`` a new lead, or the existing one (``message`` says which)."""

    lead: Lead
    created: bool
    message: str = ""
    visible: bool = True  # False when routing gave the new lead to someone the actor cannot see
    phones: list[Phone] = field(default_factory=list)


class HouseAlreadyHeld(Exception):
    """The house is a lead the agent may see and they did not ask to add to it."""

    def __init__(self, lead: Lead):
        super().__init__(ALREADY_YOURS)
        self.lead = lead


def place_of(*, street: str, state: str, unit: str = "", city: str = "", zip_code: str = "") -> dict:
    """The house's address read as an import reads it, or ValidationError naming each bad field."""
    errors = {}
    street = " ".join(street.split())[:120]
    if not street:
        errors["street"] = NO_STREET
    typed_zip = zip_code.strip()
    zip_code = zip5(typed_zip)
    if typed_zip and not zip_code:
        errors["zip_code"] = BAD_ZIP.format(value=typed_zip)
    city = " ".join(city.split())[:60]
    code = state_code(state)
    if state.strip() and not code:
        errors["state"] = BAD_STATE.format(value=state.strip())
    if zip_code and (not code or not city):
        zip_city, zip_state = zip_place(zip_code)
        code = code or zip_state
        city = city or zip_city
    if "zip_code" not in errors and "state" not in errors and not (code and (zip_code or city)):
        errors["zip_code"] = NO_PLACE
    if errors:
        raise ValidationError(errors)
    unit = " ".join(unit.split())[:20]
    return {"street": street, "unit": unit, "city": city, "state": code, "zip_code": zip_code}


def _check(intake: Intake, actor: User, agent: User | None) -> dict:
    """Every input checked before anything is written; all the reasons at once."""
    errors: dict[str, list[str]] = {}
    try:
        place = place_of(street=intake.street, state=intake.state, unit=intake.unit, city=intake.city,
                         zip_code=intake.zip_code)
    except ValidationError as error:
        errors.update(error.message_dict)
        place = {}
    if not any(owner.named for owner in intake.owners):
        errors["owners"] = [NO_OWNER]
    errors.update(_reach_errors(intake))
    value = intake.estimated_value
    if value is not None and value > MAX_ESTIMATED_VALUE:
        errors["estimated_value"] = [VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE)]
    elif value is not None and value < 0:
        errors["estimated_value"] = [VALUE_NEGATIVE]
    if agent is not None and agent != actor and not (
            actor.has_perm(Perm.ASSIGN_LEADS) and users_assignable_by(actor).filter(pk=agent.pk).exists()):
        errors["assigned_agent"] = [NOT_YOUR_AGENT.format(agent=agent)]
    if errors:
        raise ValidationError(errors)
    return place


def _email_ok(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _lock_house(key: str) -> None:
    """Two agents typing the same house at once: the second waits, then finds the first's."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(key.encode()) - 2**31])


def _owners_write(*, lead: Lead, intake: Intake, mailing: dict) -> list[Contact]:
    """The owners typed in; one already on the lead under the same name is kept, not doubled."""
    existing = list(lead.contacts.all()) if lead.pk else []
    position = max((contact.position for contact in existing), default=0)
    written = []
    for owner in intake.owners:
        if not owner.named:
            continue
        same = next((c for c in existing if (c.first_name.lower(), c.last_name.lower(), c.company_name.lower())
                     == (owner.first_name.lower(), owner.last_name.lower(), owner.company_name.lower())), None)
        if same is None:
            position += 1
            same = contact_create(lead=lead, position=position, first_name=owner.first_name[:60],
                                  last_name=owner.last_name[:60], company_name=owner.company_name[:120], **mailing)
        written.append(same)
    return written


def _mailing(intake: Intake, place: dict) -> dict:
    """The mailing address typed, else the house's own (the owner lives there)."""
    typed = {key: " ".join(str(value).split()) for key, value in intake.mailing.items() if value}
    if typed.get("mailing_street"):
        if "mailing_state" in typed:
            typed["mailing_state"] = state_code(typed["mailing_state"]) or typed["mailing_state"]
        if "mailing_zip" in typed:
            typed["mailing_zip"] = zip5(typed["mailing_zip"]) or typed["mailing_zip"]
        return typed
    return {"mailing_street": place["street"], "mailing_unit": place["unit"], "mailing_city": place["city"],
            "mailing_state": place["state"], "mailing_zip": place["zip_code"]}


def _reach_write(*, contact: Contact, intake: Intake) -> list[Phone]:
    phones = [phone_add(contact=contact, raw=raw.strip(), source=ContactSource.MANUAL,
                        phone_type=intake.phone_types.get(raw, PhoneType.UNKNOWN))
              for raw in intake.phones if raw.strip()]
    for address in intake.emails:
        if address.strip():
            email_add(contact=contact, address=address, source=ContactSource.MANUAL)
    return phones


@transaction.atomic
def lead_create_by_hand(*, actor: User, intake: Intake, assigned_agent: User | None = None,
                        route: bool = False) -> Added:
    """Add the house as a lead (or add to the lead already holding it), in one transaction.

    ``route``: the routing rules decide who works it (as for an import), the actor when
    none matches; else ``assigned_agent`` (someone the actor assigns to) or the actor.
    Raises ``ValidationError`` by field, ``HouseAlreadyHeld`` for a lead the actor sees.
    """
    place = _check(intake, actor, assigned_agent)
    key = address_key(street=place["street"], unit=place["unit"], city=place["city"], state=place["state"],
                      zip_code=place["zip_code"])
    _lock_house(key)
    held = Lead.objects.filter(property__address_key=key).select_related("merged_into").first()
    if held is not None and held.merged_into_id:  # a house merged away is worked as the one it joined
        held = held.merged_into
    if held is not None or Property.objects.filter(address_key=key).exists():
        if held is None or not Lead.objects.visible_to(actor).filter(pk=held.pk).exists():
            raise ValidationError({"street": [WORKED_BY_BROKERAGE]})
        if not intake.add_to_existing:
            raise HouseAlreadyHeld(held)
        phones = lead_people_add(lead=held, intake=intake, place=place)
        return Added(lead=held, created=False, message=ADDED_TO_EXISTING, phones=phones)

    house = property_create(**place, estimated_value=intake.estimated_value)
    lead_type = intake.lead_type or TYPE_OF_SOURCE.get(intake.source, LeadType.LIST)
    lead = lead_create(property=house, lead_type=lead_type, source=intake.source,
                       assigned_agent=None if route else (assigned_agent or actor))
    if route:
        routed = leads_route_by_rules(leads=Lead.objects.filter(pk=lead.pk), actor=actor)
        if routed.unmatched:  # no rule matched: the one who took the call works it
            lead_assign(lead=lead, agent=actor, actor=actor, reason=NO_RULE_MATCHED)
        lead.refresh_from_db()
    contacts = _owners_write(lead=lead, intake=intake, mailing=_mailing(intake, place))
    phones = _reach_write(contact=contacts[0], intake=intake)
    _phones_flag(phones)
    visible = Lead.objects.visible_to(actor).filter(pk=lead.pk).exists()
    return Added(lead=lead, created=True, visible=visible, phones=phones)


def _reach_errors(intake: Intake) -> dict[str, list[str]]:
    errors = {}
    bad_phones = [parse_phone(raw).error for raw in intake.phones if raw.strip() and not parse_phone(raw).ok]
    if bad_phones:
        errors["phones"] = bad_phones
    bad_emails = [BAD_EMAIL.format(value=address.strip()) for address in intake.emails
                  if address.strip() and not _email_ok(address.strip())]
    if bad_emails:
        errors["emails"] = bad_emails
    return errors


def people_check(intake: Intake) -> None:
    """The owners' phones and emails, for a lead already held (its address is not read again)."""
    errors = _reach_errors(intake)
    if errors:
        raise ValidationError(errors)


def lead_people_add(*, lead: Lead, intake: Intake, place: dict | None = None) -> list[Phone]:
    """The owners, numbers and addresses typed, added to a lead already held: an owner of the
    same name is kept, not doubled, a number or address already on the owner is left as it is.
    The numbers go on the first owner typed, else on the lead's first owner. The new phones are
    flagged against the Do-Not-Call lists before this returns. Checked beforehand: ``people_check``."""
    house = place or {"street": lead.property.street, "unit": lead.property.unit, "city": lead.property.city,
                      "state": lead.property.state, "zip_code": lead.property.zip_code}
    contacts = _owners_write(lead=lead, intake=intake, mailing=_mailing(intake, house))
    if not contacts:
        first = lead.contacts.order_by("position", "pk").first()
        contacts = [first] if first is not None else []
    phones = _reach_write(contact=contacts[0], intake=intake) if contacts else []
    _phones_flag(phones)
    return phones


def _phones_flag(phones: list[Phone]) -> None:
    if phones:
        phones_changed.send(sender=Phone, phones=Phone.objects.filter(pk__in=[phone.pk for phone in phones]))
        for phone in phones:
            phone.refresh_from_db(fields=["on_dnc_list", "dnc_flagged_at"])
