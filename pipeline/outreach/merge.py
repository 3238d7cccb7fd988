"""The merge both letters and emails start from: the pieces, who is left out and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch

from compliance.models import Verdict
from leads.models import Contact, Email, EmailStatus, Lead
from pipeline.models import MessageTemplate, OutreachAttempt, TemplateKind, TemplateSituation

from .scripts import MERGE_FIELD, merge_fields_in

PRINT_KINDS = (TemplateKind.LETTER, TemplateKind.POSTCARD)


# One merge at a time stays a page the agent can read and a batch a worker sends in
# seconds; a larger list is narrowed with the filters (by list, county, stage).
MERGE_LIMIT = 500


NEVER_REACHED = "not reached yet: the template is for after a conversation"


ALREADY_REACHED = "reached already: the template is for a first contact"


LETTER_CLOSING = "Sincerely,"


@dataclass
class Piece:
    lead: Lead
    owner: Contact  # the contact point: the owner the gate checks and the log names
    text: str
    email: Email | None = None
    subject: str = ""
    owners: list[Contact] = field(default_factory=list)  # a letter: every owner at the address it names

    @property
    def names(self) -> str:
        return owner_names(self.owners or [self.owner])

    @property
    def salutation(self) -> str:
        return f"Dear {self.names},"

    @property
    def closing(self) -> str:
        return LETTER_CLOSING


@dataclass
class Merge:
    pieces: list[Piece] = field(default_factory=list)
    # A piece not made, and why (for a letter: the first owner at that address).
    left_out: list[tuple[Lead, Contact | None, str]] = field(default_factory=list)
    # An owner left off a letter that still goes to the others at the address.
    names_left_off: list[tuple[Lead, Contact, str]] = field(default_factory=list)
    truncated: bool = False

    @property
    def reasons(self) -> dict[str, int]:
        return _count(reason for _lead, _owner, reason in self.left_out)

    @property
    def names_left_off_reasons(self) -> dict[str, int]:
        return _count(reason for _lead, _owner, reason in self.names_left_off)


def _count(reasons) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def leads_to_merge(queryset) -> tuple[list[Lead], bool]:
    # The caller's prefetches (a list page's) are replaced by the owners and emails a merge needs,
    # and the fees Regulation O's notice names (F3: pipeline.deals.reg_o).
    leads = list(with_owners(queryset.select_related("property").prefetch_related(None)).prefetch_related("fees")[
        :MERGE_LIMIT + 1])
    return leads[:MERGE_LIMIT], len(leads) > MERGE_LIMIT


def with_owners(queryset):
    owners = Contact.objects.order_by("position", "pk").prefetch_related(
        Prefetch("emails", queryset=Email.objects.filter(status=EmailStatus.GOOD).order_by("position", "pk"))
    )
    return queryset.prefetch_related(Prefetch("contacts", queryset=owners))


def discloses_role(template: MessageTemplate) -> bool:
    """A piece states the sender's name and role (D3, F8): every letter and postcard does,
    under the signature; an email only if its template says [Role Disclosure]."""
    if template.kind in PRINT_KINDS:
        return True
    return any(name.strip().lower() == "role disclosure" for name in merge_fields_in(template.body))


def _reached(leads: list[Lead]) -> set[int]:
    """Which of the leads someone has had a conversation with (one query)."""
    return set(OutreachAttempt.objects.filter(lead__in=[lead.pk for lead in leads]).reached()
               .values_list("lead_id", flat=True).distinct())


def reached_if_it_matters(template: MessageTemplate, leads: list[Lead]) -> set[int]:
    """The leads reached, read only when the template is written for one situation."""
    return set() if template.situation == TemplateSituation.ANY else _reached(leads)


def not_written_for(template: MessageTemplate, *, reached: bool) -> str | None:
    """Why the template does not fit the homeowner's situation, or None when it does."""
    if template.situation == TemplateSituation.AFTER_CONVERSATION and not reached:
        return NEVER_REACHED
    if template.situation == TemplateSituation.FIRST_CONTACT and reached:
        return ALREADY_REACHED
    return None


def joined_with_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def owner_names(owners: list[Contact]) -> str:
    """How a letter names the owners at one address: "Robert and Maria Johnson" when they
    share a last name, "Robert Johnson and Maria Lopez" when not, a company by its name;
    the same name twice (an owner on the record twice) once."""
    seen, people = set(), []
    for owner in owners:
        if owner.display_name.lower() not in seen:
            seen.add(owner.display_name.lower())
            people.append(owner)
    if (len(people) > 1 and all(o.first_name.strip() and o.last_name.strip() for o in people)
            and len({o.last_name.strip().lower() for o in people}) == 1):
        return f"{joined_with_and([o.first_name.strip() for o in people])} {people[0].last_name.strip()}"
    return joined_with_and([o.display_name for o in people])


def fields_filled_first(text: str, values: dict[str, str]) -> str:
    """``text`` with the merge fields named in ``values`` filled in (the others left for ``render``)."""
    return MERGE_FIELD.sub(lambda match: values.get(match.group(1).strip().lower(), match.group(0)), text)


def refusal_reason(findings) -> str:
    rules = sorted({f.rule for f in findings if f.severity == Verdict.BLOCK})
    return "refused by the compliance check (" + ", ".join(rules) + ")"
