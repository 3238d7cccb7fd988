"""The kanban board: every move goes through ``lead_stage_change``, refused moves say why."""

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from leadcrm.accounts.roles import Perm
from leads.models import FUNNEL_STAGES, DeadReason, Stage
from leads.selectors import lead_get
from pipeline.common import safe_next_url

from .forecast.durations import is_running_late, stage_durations
from .forms import BoardMoveForm
from .selectors import BOARD_FILTERS, pipeline_board
from .services import StageChangeRefused, lead_stage_change
from .stages import TRANSITIONS, stage_advice

CARD_MOVED = "{lead}: moved to {stage}."
CARD_REFUSED = "{lead} stays in {stage}: {reasons}"


def board_context(request, *, notice=None) -> dict:
    columns, outcomes, lead_filter = pipeline_board(fetched_by=request.user, filters=request.GET)
    durations = stage_durations()
    today = timezone.localdate()
    for column in columns:
        for lead in column.cards:
            lead.days_in_stage = (today - timezone.localdate(lead.stage_entered_at)).days
            lead.running_late = is_running_late(column.stage, lead.days_in_stage, durations)
            # The no-JavaScript Move form offers the table's moves.
            lead.moves = list(TRANSITIONS[Stage(lead.stage)])
    query = {key: value for key, value in request.GET.items() if key in BOARD_FILTERS and value}
    board_url = reverse("pipeline:board") + (f"?{urlencode(query)}" if query else "")
    return {
        "board_url": board_url,
        "filter_fields": [lead_filter.form[name] for name in BOARD_FILTERS if name in lead_filter.form.fields],
        "columns": columns,
        "outcomes": outcomes,
        "filter": lead_filter,
        "notice": notice,
        "now": timezone.now(),
        "today_plus_7": today + timedelta(days=7),
        "dead_reasons": DeadReason.chosen_by_hand(),
        "can_move": request.user.has_perm(Perm.CHANGE_STAGE),
        "is_filtered": bool(query),
        "funnel_stages": FUNNEL_STAGES,
    }


class BoardView(LoginRequiredMixin, TemplateView):
    template_name = "pipeline/board.html"

    def get_template_names(self):
        if self.request.htmx and self.request.htmx.target == "board":
            return ["pipeline/partials/_board.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **board_context(self.request)}


class BoardMoveView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Move one card. With htmx the board comes back redrawn, the card where the rules put it."""

    permission_required = Perm.CHANGE_STAGE
    http_method_names = ["post"]

    def post(self, request):
        form = BoardMoveForm(request.POST)
        if not form.is_valid():
            notice = ("danger", "That move could not be read; reload the board and try again.")
        else:
            lead = lead_get(fetched_by=request.user, pk=form.cleaned_data["lead"])
            notice = self._move(lead, form.cleaned_data)
        if request.htmx:
            # The board's filters ride along in the page URL htmx reports.
            request.GET = _query_of(request.htmx.current_url, request.GET)
            return render(request, "pipeline/partials/_board.html", board_context(request, notice=notice))
        getattr(messages, notice[0] if notice[0] != "danger" else "error")(request, notice[1])
        return HttpResponseRedirect(safe_next_url(request, reverse("pipeline:board")))

    def _move(self, lead, data) -> tuple[str, str]:
        source = lead.get_stage_display()
        try:
            lead_stage_change(lead=lead, to_stage=data["to_stage"], actor=self.request.user,
                              dead_reason=data["dead_reason"], closing_date=data["closing_date"],
                              note="Moved on the board.")
        except StageChangeRefused as refused:
            return "danger", CARD_REFUSED.format(lead=lead, stage=source, reasons=" ".join(refused.messages))
        advice = stage_advice(lead, lead.stage, timezone.localdate())
        if advice:  # moved, with what to do now (the seller's briefing on entering Qualify)
            return "warning", CARD_MOVED.format(lead=lead, stage=lead.get_stage_display()) + " " + " ".join(advice)
        return "success", CARD_MOVED.format(lead=lead, stage=lead.get_stage_display())


def _query_of(url: str | None, fallback):
    if not url:
        return fallback
    return QueryDict(urlsplit(url).query)
