"""The dashboard: the agent's agenda, stage counts, smart lists, recent outreach and the workload."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from leadcrm.shared.rows import pk_url, short_moment
from leads.selectors import lead_stage_counts
from pipeline.models import FollowUpKind
from pipeline.outreach.selectors import recent_outreach
from pipeline.reminders.selectors import AgendaItem, agent_workload, follow_up_agenda

from .smart_lists import smart_lists


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "pipeline/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        stage_counts = lead_stage_counts(fetched_by=user)
        agenda = follow_up_agenda(user=user)
        _prepare_agenda([*agenda.overdue, *agenda.today, *agenda.upcoming])
        context.update(
            stage_counts=stage_counts,
            open_total=sum(c.count for c in stage_counts if c.stage not in ("closed", "dead")),
            agenda=agenda,
            recent=recent_outreach(fetched_by=user),
            workload=agent_workload(fetched_by=user),
            # Each saved search the user sees, counted in their own leads (capped, one query).
            smart_lists=smart_lists(fetched_by=user),
        )
        return context


FOLLOW_UP_KINDS = dict(FollowUpKind.choices)


def _prepare_agenda(items: list[AgendaItem]) -> None:
    """Work out what each follow-up's line on the dashboard shows, once here (the lines
    are a Jinja2 fragment that only places them: ``jinja2/pipeline/agenda_items.html``)."""
    lead_url, done_url = pk_url("leads:detail"), pk_url("pipeline:follow_up_done")
    for item in items:
        item.lead_url, item.done_url = lead_url(item.lead_id), done_url(item.pk)
        item.kind_label = FOLLOW_UP_KINDS.get(item.kind, item.kind)
        item.due_label = short_moment(item.due_at, weekday=True)
        item.due_full = short_moment(item.due_at, weekday=True, year=True)
