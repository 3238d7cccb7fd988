"""The broker's reports as JSON: one path per report (``/api/reports/funnel/``), each row a
typed object, for the same period parameters (``from``, ``to``) and to the same people as
the report pages (docs/architecture.md#api-reports).

The API and the reports are parts of pipeline that do not import each other (the
pipeline-capabilities contract in ``.importlinter``): the page's own reading of a report
(``pipeline.reports.views.report_read``: who may, the period, the read replica) is passed
in where the URLs are made (``ReportViewSet.reading`` in ``leadcrm/urls.py``). This module
knows each report's columns, in order, and names them.
"""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from leadcrm.shared.api import ERRORS, PROBLEM_TYPE, SaneDateField
from leads.models import FUNNEL_STAGES, Stage

from .schema import ApiSchema

# Rows -----------------------------------------------------------------------------------


def _count(**kwargs):
    return serializers.IntegerField(**kwargs)


def _share(**kwargs):
    return serializers.FloatField(allow_null=True, **kwargs)


def _days(**kwargs):
    return serializers.FloatField(allow_null=True, **kwargs)


def _money(**kwargs):
    return serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, **kwargs)


FUNNEL_ROW = {
    "group": serializers.CharField(help_text="`All leads`, or the list or the source (`(none)`: no list)."),
    **{f"reached_{stage}": _count(help_text=f"Leads that reached {Stage(stage).label}.")
       for stage in [*FUNNEL_STAGES, Stage.CLOSED]},
    "list_to_closed_pct": _share(help_text="Of those that came in, the % that closed."),
}

# Each report: its name (the page's slug), its row's fields in the order of the page's
# columns, and what the row is named in the schema.
REPORT_ROWS: dict[str, tuple[str, dict]] = {
    "funnel": ("FunnelRow", FUNNEL_ROW),
    "funnel-list": ("FunnelRow", FUNNEL_ROW),
    "funnel-source": ("FunnelRow", FUNNEL_ROW),
    "time-in-stage": ("TimeInStageRow", {
        "stage": serializers.CharField(), "left": _count(help_text="Leads that left the stage in the period."),
        "median_days": _days(), "p80_days": _days(help_text="The 80th percentile."),
    }),
    "agent-activity": ("AgentActivityRow", {
        "week_of": serializers.DateField(help_text="The week's Monday."), "agent": serializers.CharField(),
        "attempts": _count(), "conversations": _count(help_text="Talked, or an appointment set."),
        "appointments": _count(), "listings": _count(help_text="Leads moved into Negotiate."),
    }),
    "compliance": ("ComplianceRow", {
        "what": serializers.CharField(help_text="`Attempts checked`, `Verdict: ...` or `Blocked by <rule>`."),
        "attempts": _count(), "pct_of_attempts": _share(),
    }),
    "dnc-by-list": ("DncByListRow", {
        "list": serializers.CharField(), "numbers": _count(), "on_dnc": _count(help_text="On a Do Not Call list."),
        "pct": _share(),
    }),
    "lender-turnaround": ("LenderTurnaroundRow", {
        "name": serializers.CharField(help_text="The servicer, else the lender."),
        "named_as": serializers.CharField(), "approvals": _count(), "median_days": _days(), "p80_days": _days(),
        "fastest_days": _count(), "slowest_days": _count(),
    }),
    "forecast": ("ForecastRow", {
        "month": serializers.CharField(help_text="YYYY-MM."),
        "closed": _count(allow_null=True, help_text="Closings in the month (null for a month ahead)."),
        "forecast": _days(help_text="Closings expected of the open leads."),
        "likely": serializers.CharField(allow_null=True, help_text="The likely range, `2–5`."),
    }),
    "list-closings": ("ListClosingsRow", {
        "name": serializers.CharField(help_text="The list, or the lead source."), "leads": _count(),
        "closed_in_period": _count(), "pct_closed": _share(), "cost": _money(), "cost_per_lead": _money(),
        "closed_so_far": _count(), "cost_per_closing": _money(),
    }),
    "action-plans": ("ActionPlansRow", {
        "plan": serializers.CharField(), "whose": serializers.CharField(), "enrolled": _count(),
        "active_now": _count(), "paused_by_a_response_now": _count(), "steps_sent": _count(),
        "tasks_created": _count(), "skipped_by_a_rule": _count(), "replies": _count(),
    }),
}


def _cell(cell):
    """A cell as the exports give it: a link's count or an amount's dollars
    (``pipeline.reports.period.plain``, which this part may not import)."""
    return getattr(cell, "value", cell)


def _rows(name: str, report) -> list[dict]:
    keys = list(REPORT_ROWS[name][1])
    rows = [dict(zip(keys, map(_cell, row), strict=True)) for row in report.rows]
    if name == "agent-activity":
        for row, agent_id in zip(rows, report.keys, strict=True):
            row["agent_id"] = agent_id
    return rows


def _row_serializer(name: str) -> type[serializers.Serializer]:
    row_name, fields = REPORT_ROWS[name]
    fields = dict(fields)
    if name == "agent-activity":
        fields["agent_id"] = serializers.IntegerField(help_text="The agent's user id.")
    return type(row_name, (serializers.Serializer,), fields)


_ROW_SERIALIZERS: dict[str, type[serializers.Serializer]] = {}


def row_serializer(name: str) -> type[serializers.Serializer]:
    """One class per row shape (the three funnels share theirs): one component in the schema."""
    row_name = REPORT_ROWS[name][0]
    if row_name not in _ROW_SERIALIZERS:
        _ROW_SERIALIZERS[row_name] = _row_serializer(name)
    return _ROW_SERIALIZERS[row_name]


def report_serializer(name: str) -> type[serializers.Serializer]:
    """The answer: the period read, the page's headings and notes, and the typed rows."""
    component = "".join(part.title() for part in name.split("-")) + "Report"
    return type(component, (serializers.Serializer,), {
        "name": serializers.CharField(help_text="The report's name, as in its path."),
        "title": serializers.CharField(),
        "from": serializers.DateField(help_text="The period's first day."),
        "to": serializers.DateField(help_text="The period's last day (inclusive)."),
        "columns": serializers.ListField(child=serializers.CharField(), help_text="The page's column headings."),
        "notes": serializers.ListField(child=serializers.CharField(), help_text="How the figures were counted."),
        "problems": serializers.ListField(child=serializers.CharField(), help_text=(
            "What was corrected in the period asked for (dates swapped, a period longer than three years).")),
        "source": serializers.CharField(allow_blank=True, help_text=(
            "Where the figures were read: the read replica and how fresh, or empty for the primary.")),
        "rows": row_serializer(name)(many=True),
    })


class PeriodParams(serializers.Serializer):
    """The report pages' period: a date that cannot be read is a 400 here (the page says so
    and reads the default instead)."""

    def get_fields(self):
        return {"from": SaneDateField(required=False), "to": SaneDateField(required=False)}


PERIOD_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="The period's first day (default: 89 days before `to`)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="The period's last day, inclusive (default: today)."),
]


# The view ---------------------------------------------------------------------------------


class ReportSchema(ApiSchema):
    """A report is the broker's: a GET can be a 403 here, which ApiSchema documents only
    for writes."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or "403" in responses:
            return responses
        name, schema, _description = ERRORS["403"]
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        responses["403"] = {"content": {PROBLEM_TYPE: {"schema": component.ref}},
                            "description": "Only brokers read the reports."}
        return dict(sorted(responses.items()))


ReportRead = Callable[..., tuple]


REPORT_SERIALIZERS = {name: report_serializer(name) for name in REPORT_ROWS}


def _report_action(name: str):
    serializer = REPORT_SERIALIZERS[name]

    def read(self, request, format=None):
        params = PeriodParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        report, period, problems, source = self.read(request, name)
        return Response(serializer({
            "name": name, "title": report.title, "from": period.start, "to": period.end,
            "columns": [str(column) for column in report.columns], "notes": list(report.notes), "problems": problems,
            "source": source.note, "rows": _rows(name, report)}).data)

    read.__name__ = name.replace("-", "_")
    read.__doc__ = f"The {name.replace('-', ' ')} report, as its page shows it, for a period."
    read = action(detail=False, methods=["get"], url_path=name, pagination_class=None, filter_backends=[])(read)
    return extend_schema(parameters=PERIOD_PARAMETERS, responses=serializer, summary=f"The {name.replace('-', ' ')} report")(read)


class ReportViewSet(viewsets.GenericViewSet):
    """The broker's reports; a team lead or an agent gets a 403, as on the pages."""

    schema = ReportSchema()
    pagination_class = None
    filter_backends = []
    read: ReportRead | None = None  # pipeline.reports.views.report_read, passed in by ``reading``

    def get_serializer_class(self):
        return REPORT_SERIALIZERS[self.action.replace("_", "-")]

    @classmethod
    def reading(cls, read: ReportRead) -> type[ReportViewSet]:
        """The viewset reading the reports with ``read(request, name)``."""
        return type(cls.__name__, (cls,), {"read": staticmethod(read), "__doc__": cls.__doc__})


for _name in REPORT_ROWS:
    setattr(ReportViewSet, _name.replace("-", "_"), _report_action(_name))
