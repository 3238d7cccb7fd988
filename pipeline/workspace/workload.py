"""The workload page (a team lead's, or the broker's): per agent, open leads in each
stage, leads with an overdue follow-up, the last logged contact, pond claims. The counts
are leads' (``leads.selectors.agents_workload``), the last contact the outreach log's
(``pipeline.outreach.selectors.agents_last_outreach``), so the page lives here, above both.
Served as ``leads:workload`` (leadcrm/urls.py)."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.generic import TemplateView

from leadcrm.accounts.roles import Perm
from leads.models import FUNNEL_STAGES, Stage
from leads.routing import pond_for
from leads.selectors import agents_workload
from pipeline.outreach.selectors import agents_last_outreach


class WorkloadView(LoginRequiredMixin, TemplateView):
    """Per agent: open leads in each stage, leads with an overdue follow-up, last activity,
    pond claims. Each count is the number of rows of the lead list it links to."""

    template_name = "leads/workload.html"

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not (user.has_perm(Perm.VIEW_TEAM_LEADS) or user.has_perm(Perm.VIEW_ALL_LEADS)):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        now = timezone.now()
        loads = agents_workload(fetched_by=user, now=now)
        last = agents_last_outreach(agent_ids=[load.agent.pk for load in loads], now=now)
        leads_url = reverse("leads:list")
        rows = []
        for load in loads:
            theirs = f"{leads_url}?{urlencode({'assigned_agent': load.agent.pk})}"
            rows.append({"agent": load.agent, "open": load.open, "overdue": load.overdue,
                         "stages": [(count, f"{theirs}&{urlencode({'stage': stage})}")
                                    for count, stage in zip(load.per_stage, FUNNEL_STAGES, strict=True)],
                         "leads_url": theirs, "overdue_url": f"{theirs}&follow_up=overdue&order=follow_up",
                         "last_activity": last.get(load.agent.pk), "claims": load.claims,
                         "team": load.team, "left": load.left})
        totals = [sum(row["stages"][i][0] for row in rows) for i in range(len(FUNNEL_STAGES))]
        stages = [Stage(s).label.replace(" with lenders", "") for s in FUNNEL_STAGES]
        return super().get_context_data(rows=rows, stages=stages, totals=totals,
                                         can_route=user.has_perm(Perm.ASSIGN_LEADS), now=now,
                                         # The pond page's own rows, counted up to a thousand.
                                         pond=pond_for(user)[:1000].count(), **kwargs)
