"""The seller's status page (no account: the link is the key) and the agent's side of it:
making and revoking the link, previewing the page, what the seller was told, the guide
and the agent's photo."""

from __future__ import annotations

import re
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views import View
from django.views.generic import TemplateView

from leadcrm.accounts.roles import Perm
from leadcrm.accounts.throttle import client_address, over_limit
from leadcrm.shared.uploads import stored_response
from leads.selectors import lead_get
from pipeline.models import BriefingTopic

from .access import (
    DEFAULT_LINK_DAYS,
    PHONE_CHECK_TRIES,
    seller_guide_downloaded,
    seller_link_create,
    seller_link_is_locked,
    seller_link_open,
    seller_link_revoke,
    seller_link_url,
    seller_phone_check,
    seller_visit_record,
)
from .briefings import briefings_of, seller_briefings_set
from .guide import GUIDE_TITLE, guide_blocks, guide_pdf
from .photos import agent_photo_remove, agent_photo_set, agent_photo_stored
from .status import seller_document_upload, seller_view

# Per address: plenty for a homeowner clicking about, too few to guess a token.
REQUESTS_PER_10_MINUTES = 200
MAX_FILES_AT_ONCE = 20
MISSES_PER_HOUR = 20
_SESSION_KEY = "seller_link_{pk}"


def _private(response):
    """A seller's page is theirs alone: not cached, not indexed, its address never sent to
    another site ("same-origin", not "no-referrer": with that, browsers send "Origin: null"
    on the upload form and Django's CSRF check refuses it)."""
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _dead_end(request, status: int = 404):
    """The same polite page for a wrong, expired, revoked or rate-limited link: it tells
    whoever holds it nothing about whether the file exists."""
    return _private(render(request, "seller/dead_end.html", {"too_many": status == 429}, status=status))


class SellerLinkMixin:
    """Finds the open link of the token, or a dead end; asks the second factor when set."""

    needs_check = True

    def dispatch(self, request, *args, token: str = "", **kwargs):
        address = client_address(request)  # behind the proxies we trust, the homeowner's own
        if over_limit(f"seller:req:{address}", limit=REQUESTS_PER_10_MINUTES, window_seconds=600):
            return _dead_end(request, status=429)
        # An address that guessed wrong too often learns nothing more from a wrong token; a
        # good one still opens (a carrier's address is shared by many phones, and 256 bits
        # are not guessed at twenty an hour).
        misses = f"seller:miss:{address}"
        self.now = timezone.now()
        link = seller_link_open(token, self.now)
        if link is None:
            if cache.get(misses, 0) >= MISSES_PER_HOUR:
                return _dead_end(request, status=429)
            over_limit(misses, limit=MISSES_PER_HOUR, window_seconds=3600)
            return _dead_end(request)
        self.link, self.token = link, token
        if self.needs_check and link.asks_phone_digits and not self._verified(request):
            return self._ask_digits(request)
        return _private(super().dispatch(request, *args, token=token, **kwargs))

    def _verified(self, request) -> bool:
        return request.session.get(_SESSION_KEY.format(pk=self.link.pk)) == self.link.token_hash

    def _ask_digits(self, request, error: str = ""):
        locked = seller_link_is_locked(self.link, self.now)
        context = {"token": self.token, "error": error, "locked": locked,
                   "locked_until": self.link.locked_until, "brokerage_name": _brokerage_name()}
        return _private(render(request, "seller/check.html", context, status=403 if locked else 200))


# Messaging apps fetch a link to draw its preview the moment it is sent: not the seller.
_PREVIEW_AGENTS = re.compile(r"bot|crawler|spider|preview|facebookexternalhit|whatsapp|telegram|slack|discord|skype"
                             r"|embedly|vkshare|pinterest|outlook|curl|wget|python-requests", re.IGNORECASE)


def _is_link_preview(request) -> bool:
    return bool(_PREVIEW_AGENTS.search(request.META.get("HTTP_USER_AGENT", "")))


def _max_mb() -> int:
    return settings.LEADCRM_DOCUMENT_MAX_BYTES // 2**20


def _date_or_none(raw: str) -> date | None:
    """A date typed or picked, or None; "2026-02-31" is None, not an error page."""
    try:
        return parse_date(raw) if raw else None
    except ValueError:
        return None


def _brokerage_name() -> str:
    from leadcrm.accounts.models import Brokerage

    return Brokerage.objects.current().name


class SellerPageView(SellerLinkMixin, TemplateView):
    template_name = "seller/status.html"
    http_method_names = ["get", "head"]

    def get_context_data(self, **kwargs):
        if self.request.method == "GET" and not _is_link_preview(self.request):
            seller_visit_record(link=self.link, now=self.now)
        return super().get_context_data(view_of=seller_view(lead=self.link.lead), preview=False,
                                        max_mb=_max_mb(), **kwargs)


class SellerCheckView(SellerLinkMixin, View):
    """The last four digits of a phone on file, once per browser session."""

    needs_check = False
    http_method_names = ["post"]

    def post(self, request, token):
        if seller_phone_check(link=self.link, digits=request.POST.get("digits", ""), now=self.now):
            request.session.cycle_key()
            request.session[_SESSION_KEY.format(pk=self.link.pk)] = self.link.token_hash
            request.session.set_expiry(0)  # until the browser closes: a shared tablet asks again
            return HttpResponseRedirect(reverse("pipeline:seller_page", args=[token]))
        self.link.refresh_from_db()
        left = PHONE_CHECK_TRIES - self.link.failed_checks % PHONE_CHECK_TRIES
        error = "" if seller_link_is_locked(self.link, self.now) else (
            f"Those digits do not match a phone number we have for you. {left} tr{'y' if left == 1 else 'ies'} left.")
        return self._ask_digits(request, error=error)


class SellerUploadView(SellerLinkMixin, View):
    http_method_names = ["post"]

    def post(self, request, token):
        files = request.FILES.getlist("file")[:MAX_FILES_AT_ONCE]
        raw_date = request.POST.get("dated_on") or ""
        dated_on = _date_or_none(raw_date)
        if not files:
            messages.error(request, "Choose a photo or file to send.")
        elif raw_date and dated_on is None:
            messages.error(request, "Give the date printed on the document, like 2026-11-02.")
        else:
            sent = []
            for file in files:
                try:
                    upload = seller_document_upload(link=self.link, key=request.POST.get("document", ""), file=file,
                                                    dated_on=dated_on, now=self.now)
                except ValidationError as error:
                    messages.error(request, f"{file.name}: {' '.join(error.messages)}")
                else:
                    sent.append(upload.original_name)
            if sent:
                messages.success(request, f"Thank you: {', '.join(sent)} reached your agent, who will review "
                                          f"{'them' if len(sent) > 1 else 'it'}.")
        # Back on the result, in the documents card (seller/_messages.html): focused, so read next.
        return HttpResponseRedirect(reverse("pipeline:seller_page", args=[token]) + "#upload-result")


class SellerGuidePdfView(SellerLinkMixin, View):
    http_method_names = ["get", "head"]

    def get(self, request, token):
        seller_guide_downloaded(link=self.link, now=self.now)
        return _pdf_response(guide_pdf(agent=self.link.lead.assigned_agent))


class SellerAgentPhotoView(SellerLinkMixin, View):
    http_method_names = ["get", "head"]

    def get(self, request, token):
        return _photo_response(self.link.lead.assigned_agent)


def _pdf_response(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="short-sale-guide.pdf"'
    return response


def _photo_response(user):
    found = agent_photo_stored(user)
    if found is None:
        raise Http404("No photo.")
    name, content_type = found
    # Shown in pages as an <img>: from our own origin, even with the files in a bucket.
    response = stored_response(name, content_type=content_type, cache_control="private, max-age=3600",
                               same_origin=True)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# The agent's side ---------------------------------------------------------------------


class SellerLinkView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Make (or replace) and revoke the lead's status-page link. The link is shown once."""

    permission_required = Perm.MANAGE_DOCUMENTS
    http_method_names = ["post"]

    def post(self, request, pk):
        lead = lead_get(fetched_by=request.user, pk=pk)
        back = reverse("leads:detail", args=[lead.pk]) + "#seller"
        if request.POST.get("action") == "revoke":
            if seller_link_revoke(lead=lead, actor=request.user):
                messages.success(request, "Link revoked: it shows nothing from now on.")
            return HttpResponseRedirect(back)
        days = request.POST.get("days", str(DEFAULT_LINK_DAYS))
        try:
            token = seller_link_create(lead=lead, actor=request.user, days=int(days) if days.isdigit() else 0,
                                       asks_phone_digits=request.POST.get("asks_phone_digits") == "on")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(back)
        # Shown once on the lead page, from the session: only its hash is kept.
        request.session[f"seller_link_new_{lead.pk}"] = seller_link_url(token)
        messages.success(request, "The seller's link is ready below. Copy it now and send it to the homeowner: "
                                  "it is not shown again.")
        return HttpResponseRedirect(back)


class SellerPreviewView(LoginRequiredMixin, TemplateView):
    """The status page as the homeowner sees it, for the agent; logs nothing."""

    template_name = "seller/status.html"

    def get_context_data(self, **kwargs):
        lead = lead_get(fetched_by=self.request.user, pk=kwargs["pk"])
        return super().get_context_data(view_of=seller_view(lead=lead), preview=True, token="", max_mb=_max_mb(),
                                        **kwargs)


class BriefingView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = Perm.LOG_OUTREACH
    http_method_names = ["post"]

    def post(self, request, pk):
        lead = lead_get(fetched_by=request.user, pk=pk)
        told: dict[str, date] = {}
        recorded = briefings_of(lead)
        for topic in BriefingTopic:
            if request.POST.get(f"told_{topic.value}") == "on":
                # An emptied or impossible date keeps the day recorded (or today, for a new tick).
                day = _date_or_none(request.POST.get(f"on_{topic.value}") or "")
                told[topic.value] = day or (recorded[topic.value].told_on if topic.value in recorded
                                            else timezone.localdate())
        try:
            seller_briefings_set(lead=lead, actor=request.user, told=told)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Saved what the seller has been told.")
        return HttpResponseRedirect(reverse("leads:detail", args=[lead.pk]) + "#seller")


class GuideView(LoginRequiredMixin, TemplateView):
    """The seller guide as agents offer it: read it, download the PDF to email, edit it."""

    template_name = "seller/guide.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(guide=guide_blocks(), title=GUIDE_TITLE,
                                        can_edit=user.is_staff and user.has_perm("pipeline.change_guidesection"),
                                        **kwargs)


class GuidePdfView(LoginRequiredMixin, View):
    def get(self, request):
        return _pdf_response(guide_pdf(agent=request.user))


class MyPhotoView(LoginRequiredMixin, View):
    """The agent's own photo: see it, replace it, remove it."""

    def get(self, request):
        return _photo_response(request.user)

    def post(self, request):
        if request.POST.get("action") == "remove":
            if agent_photo_remove(user=request.user):
                messages.success(request, "Photo removed.")
        elif "photo" not in request.FILES:
            messages.error(request, "Choose a photo to upload.")
        else:
            try:
                agent_photo_set(user=request.user, file=request.FILES["photo"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, "Photo saved: your sellers see it on their status page.")
        return HttpResponseRedirect(reverse("pipeline:my_settings") + "#photo")

