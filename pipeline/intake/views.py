"""The public seller form ``/f/<key>/``: shown, checked for spam, sent (docs/intake.md).

No login and no CSRF token: a plain HTML form on the brokerage's own site posts here from
another origin and cannot carry one. What protects it instead are the spam checks
(``spam.py``): nothing a cross-site post can do here is more than a homeowner could do by
filling the form in, and the rate limit bounds it. The page may be framed only by the
form's own sites (CSP ``frame-ancestors``), not by any other.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.throttle import client_address
from pipeline.models import SellerForm, SubmissionOutcome

from . import spam
from .forms import BEHIND_CHOICES, BEST_TIME_CHOICES, FIELD_OF, HomeownerForm
from .selectors import seller_form_public
from .services import Sent, Where, form_submission_accept, submission_log

TOO_FAST = ("That was quicker than we expected. Please check your details below, then press "
            "“Send my details” again.")
TOO_MANY = "We have received many forms from your connection in a short time. Please try again in an hour, or call us."
FIX_BELOW = "Some details are missing or need a second look: see the messages below."
WORDS_CHANGED = ("The words next to the consent box have changed since this page was opened. Please read them "
                 "and tick the box again if you agree, then press “Send my details”.")


def frame_policy(form: SellerForm) -> str:
    """The site's policy with the form's own sites allowed to frame it (and ours, for the preview)."""
    merged = {name: list(sources) for name, sources in settings.LEADCRM_CSP.items()}
    merged["frame-ancestors"] = ["'self'", *form.origins]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in merged.items())


def _where(request, form: HomeownerForm | None = None) -> Where:
    address = client_address(request)
    shown_on = form.data.get("page", "").strip()[:500] if form is not None else ""
    page = request.build_absolute_uri()
    referer = request.META.get("HTTP_REFERER", "")[:500]
    described = f"{page} (embedded on {shown_on or referer})" if (shown_on or referer) and (shown_on or referer) != page \
        else page
    return Where(address=address, address_hash=spam.address_hash(address),
                 user_agent=request.META.get("HTTP_USER_AGENT", "")[:300], page_url=described)


def _sent(data: dict) -> Sent:
    return Sent(
        first_name=data.get("first_name", ""), last_name=data.get("last_name", ""), street=data.get("street", ""),
        unit=data.get("unit", ""), city=data.get("city", ""), state=data.get("state", ""),
        zip_code=data.get("zip_code", ""), phones=[data.get("phone", ""), data.get("other_phone", "")],
        email=data.get("email", ""), hardship=data.get("hardship", ""),
        behind=dict(BEHIND_CHOICES).get(data.get("behind", ""), "") if data.get("behind") else "",
        best_time=dict(BEST_TIME_CHOICES).get(data.get("best_time", ""), "") if data.get("best_time") else "",
        consented=bool(data.get("consent")))


@method_decorator([csrf_exempt, xframe_options_exempt], name="dispatch")
class PublicFormView(View):
    """GET shows the form; POST checks it and adds the lead, or says what to fix."""

    http_method_names = ["get", "head", "post"]

    def dispatch(self, request, key):
        self.seller_form = seller_form_public(key)
        response = super().dispatch(request, key)
        response["Content-Security-Policy"] = frame_policy(self.seller_form)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        return response

    def _render(self, template: str, status: int = 200, **context):
        context.setdefault("brokerage", Brokerage.objects.current())
        return render(self.request, template, {"seller_form": self.seller_form, **context}, status=status)

    def _show(self, form: HomeownerForm, *, status: int = 200, notice: str = "", confirm: bool = False,
              ticked: bool = False):
        """The form, with a fresh token for the words it shows; the box ticked only when
        ``ticked``: the homeowner ticked it beside these very words."""
        return self._render("intake/public_form.html", status=status, form=form, notice=notice,
                            started=spam.started_token(self.seller_form, confirm=confirm), honeypot=spam.HONEYPOT,
                            consent_ticked=ticked and bool(form["consent"].value()))

    def get(self, request, key):
        page = request.META.get("HTTP_REFERER", "")[:500]
        return self._show(HomeownerForm(initial={"page": page}))

    def post(self, request, key):
        form = HomeownerForm(request.POST)
        where = _where(request, form)
        # One transaction: the address's count and this post's own log line are one step, so
        # two posts at once from one address cannot both pass the limit.
        with transaction.atomic():
            spam.lock_address(where.address_hash)
            return self._checked(form, where)

    def _checked(self, form: HomeownerForm, where: Where):
        log = {"form": self.seller_form, "where": where}
        if spam.over_limit(where.address_hash):
            if spam.refusal_to_log(where.address_hash):
                submission_log(outcome=SubmissionOutcome.RATE_LIMITED, **log)
            return self._render("intake/too_many.html", status=429, message=TOO_MANY)
        if form.honeypot_filled:  # a robot: thanked, nothing kept but the log line
            submission_log(outcome=SubmissionOutcome.SPAM, **log)
            return self._render("intake/thanks.html")
        started = spam.started_read(self.seller_form, form.token)
        # A box ticked beside the words shown now is kept ticked when the form is shown
        # again; one ticked elsewhere (the brokerage's own page, an older version of ours)
        # is not: the homeowner is asked again, beside these words.
        saw_words = started.saw_words_of(self.seller_form)
        if started.too_fast():
            submission_log(outcome=SubmissionOutcome.TOO_FAST, **log)
            typed = {name: value for name, value in form.data.items() if name not in (spam.HONEYPOT, spam.TOKEN_FIELD)}
            return self._show(HomeownerForm(initial=typed), notice=TOO_FAST, ticked=saw_words)
        if not form.is_valid():
            submission_log(outcome=SubmissionOutcome.INVALID, invalid_fields=sorted(form.errors), **log)
            return self._show(form, notice=FIX_BELOW, ticked=saw_words)
        if started.seconds is None:
            # A plain HTML form on another site (or a page left open past a day): our own
            # page shows what was sent, with a fresh token, and asks for consent again,
            # unticked, beside our current words; one click sends it.
            return self._render("intake/confirm.html", form=form,
                                started=spam.started_token(self.seller_form, confirm=True),
                                behind=dict(BEHIND_CHOICES).get(form.cleaned_data["behind"], "")
                                if form.cleaned_data["behind"] else "",
                                best_time=dict(BEST_TIME_CHOICES).get(form.cleaned_data["best_time"], ""))
        if form.cleaned_data["consent"] and not saw_words:
            # The words changed between showing the page and this post: the homeowner never
            # saw the words a consent would be stored with. Ask again; nothing is saved.
            submission_log(outcome=SubmissionOutcome.INVALID, invalid_fields=["consent"], **log)
            return self._show(form, notice=WORDS_CHANGED)
        try:
            form_submission_accept(form=self.seller_form, sent=_sent(form.cleaned_data), where=where)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                name = FIELD_OF.get(name, name)
                form.add_error(name if name in form.fields else None, messages)
            submission_log(outcome=SubmissionOutcome.INVALID, invalid_fields=sorted(error.message_dict), **log)
            return self._show(form, notice=FIX_BELOW, ticked=saw_words)
        return self._render("intake/thanks.html")
