"""Every report by its slug: the index page, the exports and the benchmark walk it."""

from __future__ import annotations

from .activity import agent_activity
from .closings import forecast_closings, list_closings
from .compliance import compliance, dnc_by_list
from .funnel import funnel, time_in_stage
from .lenders import lender_turnaround
from .plans import plan_activity

REPORTS = {
    "funnel": ("Funnel conversion", lambda period: funnel(period)),
    "funnel-list": ("Funnel by list", lambda period: funnel(period, by="list")),
    "funnel-source": ("Funnel by source", lambda period: funnel(period, by="source")),
    "time-in-stage": ("Time in stage", time_in_stage),
    "agent-activity": ("Agent activity per week", agent_activity),
    "compliance": ("Compliance checks and blocks", compliance),
    "dnc-by-list": ("DNC hit rate per list", dnc_by_list),
    "lender-turnaround": ("Lender turnaround", lender_turnaround),
    "forecast": ("Closings by month", forecast_closings),
    "list-closings": ("Lists and sources that produced closings", list_closings),
    "action-plans": ("Action plans", plan_activity),
}
