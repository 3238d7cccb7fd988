"""The lead list's filters (django-filter) and its Do-not-call column; the choices offered
are scoped to the user. Here, above leads, because the list filters on calling hours and
on the lists the brokerage holds; leads' own parts (search, orderings, follow-up windows,
the lists a user may pick) are in ``leads.filters``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db.models import Exists, OuterRef
from django.db.models.functions import Substr
from django.utils import timezone

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Perm
from leads.filters import (
    FOLLOW_UP_BUCKETS,
    ORDERINGS,
    SEARCH_MAX_LENGTH,
    SEARCH_TOO_LONG,
    has_follow_up_due,
    lists_version,
    lists_visible_to,
    open_follow_ups,
    search_q,
)
from leads.models import (
    OUTCOME_STAGES,
    ForeclosureRecord,
    Lead,
    LeadList,
    LeadTag,
    LeadType,
    Phone,
    PhoneStatus,
    Stage,
    Tag,
)
from leads.tags import tags_usable_by

from .gate import zip_prefixes_in_calling_hours
from .models import InternalDncEntry
from .rulebook import rulebook

# Do not call, as the lead list's column shows it and its filter picks it: of a lead's good
# numbers, how many are on a list the brokerage holds (a registry, a litigator list or the
# internal list, as each phone was last flagged), and whether one of its numbers is on the
# internal list: the homeowner asked us to stop.
DNC_CHOICES = [("any", "A number on a list"), ("all", "Every number on a list"),
               ("clear", "No number on a list"), ("stop", "Asked us to stop")]


def good_phones():
    """The lead's (``OuterRef("pk")``) numbers that are not known to be bad."""
    return Phone.objects.filter(contact__lead=OuterRef("pk"), status=PhoneStatus.GOOD)


def asked_to_stop(number=None) -> Exists:
    """The number (default: the outer query's ``number``) is on the internal do-not-contact list."""
    return Exists(InternalDncEntry.objects.filter(phone_number=OuterRef("number") if number is None else number))


@dataclass(frozen=True)
class DncStanding:
    """One lead's cell in the Do-not-call column; ``kind`` says which filter choices pick
    it ("any" picks "some" and "all"; "stop" picks ``stop``)."""

    good: int = 0  # numbers not known to be bad
    listed: int = 0  # of those, on a list
    stop: bool = False  # a number of the lead's on the internal list

    @property
    def kind(self) -> str:
        if not self.good:
            return "none"
        return "clear" if not self.listed else "all" if self.listed == self.good else "some"

    @property
    def label(self) -> str:
        return {"none": "No number", "clear": "Clear", "all": f"All {self.good} listed",
                "some": f"{self.listed} of {self.good} listed"}[self.kind]


def dnc_standings(*, lead_ids) -> dict[int, DncStanding]:
    """Each lead's DNC standing, for a page of rows: one query."""
    counts: dict[int, list] = {}
    rows = (Phone.objects.filter(contact__lead_id__in=lead_ids).order_by()
            .annotate(stop=asked_to_stop()).values_list("contact__lead_id", "status", "on_dnc_list", "stop"))
    for lead_id, status, on_list, stop in rows:
        good, listed, stopped = counts.setdefault(lead_id, [0, 0, False])
        is_good = status == PhoneStatus.GOOD
        counts[lead_id] = [good + is_good, listed + (is_good and on_list), stopped or stop]
    return {lead_id: DncStanding(*values) for lead_id, values in counts.items()}


class KnownModelChoiceField(forms.ModelChoiceField):
    """A model choice that looks a value up among rows read beforehand (``known``) when it
    is given: the dashboard checks every saved search's filters against one read of the
    choices, not one query per search."""

    known: dict[int, object] | None = None

    def to_python(self, value):
        if self.known is None or value in self.empty_values:
            return super().to_python(value)
        try:
            return self.known[int(value)]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": value}) from None


class KnownModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = KnownModelChoiceField


# The filters whose choice is a row: ``LeadFilter(known=...)`` takes their rows by these names.
MODEL_FILTERS = ("assigned_agent", "team", "list", "tag")


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search", label="Search",
        validators=[MaxLengthValidator(SEARCH_MAX_LENGTH, message=SEARCH_TOO_LONG)],
    )
    status = django_filters.ChoiceFilter(
        method="filter_status",
        choices=[("open", "Open"), ("closed", "Closed (sold short)"), ("dead", "Dead"), ("all", "All")],
        empty_label=None,
        label="Status",
    )
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="All stages")
    lead_type = django_filters.ChoiceFilter(choices=LeadType.choices, empty_label="All types")
    assigned_agent = KnownModelChoiceFilter(
        queryset=User.objects.none(), label="Agent", empty_label="All agents"
    )
    team = KnownModelChoiceFilter(
        queryset=Team.objects.none(), label="Team", empty_label="All teams"
    )
    list = KnownModelChoiceFilter(
        field_name="list_memberships__lead_list", queryset=LeadList.objects.all(), label="List", empty_label="All lists"
    )
    # Only the tags the user may use (their teams' and the brokerage's): another team's tag
    # id is refused as any unknown choice is.
    tag = KnownModelChoiceFilter(method="filter_tag", queryset=Tag.objects.none(), label="Tag",
                                 empty_label="All tags")
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score ≥")
    area = django_filters.CharFilter(method="filter_area", label="County or ZIP")
    auction_within = django_filters.NumberFilter(method="filter_auction_within", label="Auction within (days)",
                                                 min_value=0, max_value=3650)
    # Whose follow-ups: the chosen agent's, else the user's own (the dashboard's groups).
    follow_up = django_filters.ChoiceFilter(
        method="filter_follow_up", label="Follow-ups", empty_label="Any time",
        choices=[("overdue", "Overdue"), ("today", "Later today"), ("week", "Next 7 days"),
                 ("none", "None open (anyone's)")],
    )
    callable = django_filters.ChoiceFilter(
        method="filter_callable", label="Callable", empty_label="Any",
        choices=[("now", "Now (calling hours)"), ("true", "Has a callable number"), ("false", "None left")],
    )
    dnc = django_filters.ChoiceFilter(method="filter_dnc", label="Do not call", empty_label="Any",
                                      choices=DNC_CHOICES)
    order = django_filters.ChoiceFilter(
        method="filter_order",
        choices=[
            ("score", "Highest score"),
            ("follow_up", "Next follow-up"),
            ("newest", "Newest"),
            ("stage_age", "Longest in stage"),
        ],
        empty_label=None,
        label="Sort",
    )

    class Meta:
        model = Lead
        fields = ["q", "status", "stage", "lead_type", "assigned_agent", "team", "list", "tag", "min_score",
                  "area", "auction_within", "follow_up", "callable", "dnc"]

    def __init__(self, data=None, queryset=None, *, user, known: dict | None = None, lists_at=None, **kwargs):
        """``known`` (name -> {pk: row}) and ``lists_at`` (the lists' version) let a caller
        checking many filters at once read the choices once for all (``choices_known``)."""
        super().__init__(data, queryset, **kwargs)
        self.user = user
        # Only the lists that hold a lead this user sees, found once every few minutes: the
        # question reads every lead of a book, and lists change when someone imports one.
        # Read once a request; the view keys its cache on it too.
        self.lists_version = lists_at if known is not None else lists_version()
        self.filters["list"].queryset = LeadList.objects.filter(
            pk__in=lists_visible_to(user, self.lists_version)).order_by("name")
        if user.has_perm(Perm.VIEW_ALL_LEADS) or user.has_perm(Perm.VIEW_TEAM_LEADS):
            visible = Lead.objects.visible_to(user).order_by()
            self.filters["assigned_agent"].queryset = User.objects.filter(
                pk__in=visible.exclude(assigned_agent=None).values("assigned_agent")
            )
            self.filters["team"].queryset = Team.objects.filter(
                pk__in=visible.exclude(team=None).values("team")
            )
        else:
            # Someone who only sees their own leads has no agent or team to choose.
            del self.filters["assigned_agent"], self.filters["team"]
        self.filters["tag"].queryset = tags_usable_by(user).order_by("name")
        if known is not None:
            for name in MODEL_FILTERS:
                if name in self.form.fields:
                    self.form.fields[name].known = known.get(name, {})
        self.form.fields["q"].widget = forms.TextInput(
            attrs={"placeholder": "Name, address or phone  ( / )", "type": "search", "data-shortcut": "/",
                   "maxlength": SEARCH_MAX_LENGTH}
        )
        for field in self.form.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if is_select else "form-control"
        self.form.fields["min_score"].widget.attrs.update(min=0, max=100, step=5)
        self.form.fields["auction_within"].widget.attrs.update(min=0, max=365, step=7, placeholder="days")
        self.form.fields["area"].widget.attrs.update(placeholder="Tulsa or 74130")
        self.form.fields["follow_up"].widget.attrs.update(
            title="Yours; the agent's when an agent is chosen. “None open”: nobody's.")

    def filter_tag(self, queryset, name, value):
        """Leads carrying the tag: read from the tag's rows (``lead_tag_by_tag``), a
        semi-join that stays small however many leads there are."""
        if value is None:
            return queryset
        return queryset.filter(Exists(LeadTag.objects.filter(tag=value, lead=OuterRef("pk"))))

    def filter_search(self, queryset, name, value):
        return queryset.filter(search_q(value)) if value.strip() else queryset

    def filter_status(self, queryset, name, value):
        # A chosen stage wins: asking for "Dead" leads shows them whatever the status says.
        if self.form.cleaned_data.get("stage") or value == "all":
            return queryset
        if value in (Stage.CLOSED, Stage.DEAD):
            return queryset.filter(stage=value)
        return queryset.exclude(stage__in=OUTCOME_STAGES)

    def filter_area(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(property__zip_code=value[:5])
        return queryset.filter(property__county__iexact=value.removesuffix(" County").removesuffix(" county"))

    def filter_auction_within(self, queryset, name, value):
        if value is None or value < 0:
            return queryset
        today = timezone.localdate()
        auctions = ForeclosureRecord.objects.filter(
            lead=OuterRef("pk"), auction_date__gte=today, auction_date__lte=today + timedelta(days=int(value))
        )
        return queryset.filter(Exists(auctions))

    def filter_follow_up(self, queryset, name, value):
        """Leads with an open follow-up due in the group, the user's own or, with an agent
        chosen (the dashboard's workload column), that agent's: what the dashboard's counts
        count. "none": no open follow-up at all, whoever's."""
        if value == "none":
            return queryset.exclude(Exists(open_follow_ups()))
        if value not in FOLLOW_UP_BUCKETS:
            return queryset
        assignee = self.form.cleaned_data.get("assigned_agent") or self.user
        return queryset.filter(has_follow_up_due(value, assignee=assignee))

    def filter_callable(self, queryset, name, value):
        """A good number on no list held (registries and the internal list, as flagged);
        "now" also wants calling hours at the house this minute (D1, E1, E3 by its ZIP's
        zones and states). The call queue asks the gate itself, number by number."""
        if not value:
            return queryset
        dialable = Phone.objects.filter(contact__lead=OuterRef("pk"), status=PhoneStatus.GOOD, on_dnc_list=False)
        if value == "false":
            return queryset.exclude(Exists(dialable))
        queryset = queryset.filter(Exists(dialable))
        if value == "now":
            prefixes = zip_prefixes_in_calling_hours(rulebook(), timezone.now())
            queryset = queryset.alias(zip3=Substr("property__zip_code", 1, 3)).filter(zip3__in=prefixes)
        return queryset

    def filter_dnc(self, queryset, name, value):
        """The leads ``DncStanding`` puts under ``value``: what the column shows."""
        listed = Exists(good_phones().filter(on_dnc_list=True))
        unlisted = Exists(good_phones().filter(on_dnc_list=False))
        if value == "any":
            return queryset.filter(listed)
        if value == "all":
            return queryset.filter(listed).exclude(unlisted)
        if value == "clear":
            return queryset.filter(unlisted).exclude(listed)
        if value == "stop":
            numbers = Phone.objects.filter(contact__lead=OuterRef("pk")).filter(asked_to_stop())
            return queryset.filter(Exists(numbers))
        return queryset

    def filter_order(self, queryset, name, value):
        return queryset.order_by(*ORDERINGS.get(value, ORDERINGS["score"]))

    @property
    def qs(self):
        queryset = super().qs
        cleaned = self.form.cleaned_data if self.form.is_valid() else {}
        if not cleaned.get("status") and not cleaned.get("stage"):
            queryset = queryset.exclude(stage__in=OUTCOME_STAGES)
        if not cleaned.get("order"):
            queryset = queryset.order_by(*ORDERINGS["score"])
        return queryset


def choices_known(sample: LeadFilter, datas: list) -> dict[str, dict[int, object]]:
    """The rows the model choices of every query in ``datas`` name, among ``sample``'s
    choices (a filter of the same user), read once per kind: at most four queries however
    many queries. What ``LeadFilter(known=...)`` looks values up in."""
    wanted: dict[str, set[int]] = {}
    for data in datas:
        for name in MODEL_FILTERS:
            value = str(data.get(name) or "")
            if name in sample.filters and value.isdigit():
                wanted.setdefault(name, set()).add(int(value))
    return {name: sample.filters[name].queryset.in_bulk(list(wanted[name])) if name in wanted else {}
            for name in MODEL_FILTERS}
