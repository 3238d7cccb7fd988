"""The broker's pages for seller forms: the list, the editor, a form's page (preview, embed
code, submissions), and a new key. Brokers only (``Perm.MANAGE_SELLER_FORMS``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.generic import FormView, TemplateView, View

from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from pipeline.common import add_service_error
from pipeline.models import SubmissionOutcome

from .forms import BEHIND_CHOICES, BEST_TIME_CHOICES, SellerFormForm
from .selectors import form_submissions, seller_form_get, seller_form_list, visible_lead_ids
from .services import default_consent_text, default_thank_you_text, seller_form_rotate_key, seller_form_save
from .spam import HONEYPOT

SUBMISSIONS_PER_PAGE = 25
SAVED = "Saved “{name}”."
ROTATED = ("“{name}” has a new address. The old one and its embed code no longer work: "
           "put the new embed code on your site now.")


class ManageMixin(LoginRequiredMixin, PermissionRequiredMixin):
    permission_required = Perm.MANAGE_SELLER_FORMS


class SellerFormListView(ManageMixin, TemplateView):
    template_name = "intake/form_list.html"

    def get_context_data(self, **kwargs):
        forms = list(seller_form_list(fetched_by=self.request.user))
        for form in forms:
            form.n_accepted = form.n_created + form.n_matched
            form.n_refused = form.n_spam + form.n_too_fast + form.n_rate_limited
        return super().get_context_data(forms=forms, **kwargs)


class SellerFormEditView(ManageMixin, FormView):
    """A new form (no pk), with the default words filled in, or a change to one."""

    template_name = "intake/form_edit.html"
    form_class = SellerFormForm

    def dispatch(self, request, *args, **kwargs):
        self.seller_form = None
        if request.user.has_perm(Perm.MANAGE_SELLER_FORMS) and "pk" in kwargs:
            self.seller_form = seller_form_get(fetched_by=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        form = self.seller_form
        if form is None:
            return {"consent_text": default_consent_text(), "thank_you_text": default_thank_you_text(),
                    "is_active": True}
        return {"name": form.name, "source": form.source, "consent_text": form.consent_text,
                "consent_covers_autodialer": form.consent_covers_autodialer, "thank_you_text": form.thank_you_text,
                "allowed_origins": form.allowed_origins, "plan": form.plan, "is_active": form.is_active}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            saved = seller_form_save(actor=self.request.user, form=self.seller_form, **data)
        except ValidationError as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, SAVED.format(name=saved.name))
        return HttpResponseRedirect(reverse("intake:detail", args=[saved.pk]))

    def get_context_data(self, **kwargs):
        return super().get_context_data(seller_form=self.seller_form, **kwargs)


class SellerFormDetailView(ManageMixin, TemplateView):
    """A form's preview, its embed code (an iframe, a plain HTML form) and its submissions."""

    template_name = "intake/form_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        form = seller_form_get(fetched_by=user, pk=self.kwargs["pk"])
        page = Paginator(form_submissions(form=form, fetched_by=user), SUBMISSIONS_PER_PAGE).get_page(
            self.request.GET.get("page"))
        visible = visible_lead_ids(user=user, lead_ids=[submission.lead_id for submission in page])
        for submission in page:
            submission.lead_visible = submission.lead_id in visible
        public_url = self.request.build_absolute_uri(reverse("intake:public", args=[form.key]))
        snippet = {"seller_form": form, "public_url": public_url, "honeypot": HONEYPOT,
                   "brokerage": Brokerage.objects.current(),
                   "behind_choices": [choice for choice in BEHIND_CHOICES if choice[0]],
                   "best_time_choices": [choice for choice in BEST_TIME_CHOICES if choice[0]]}
        return super().get_context_data(
            seller_form=form, page=page, public_url=public_url,
            iframe_code=render_to_string("intake/partials/_snippet_iframe.txt", snippet).strip(),
            html_code=render_to_string("intake/partials/_snippet_html.txt", snippet).strip(),
            accepted=form.n_created + form.n_matched, refused=form.n_spam + form.n_too_fast + form.n_rate_limited,
            outcomes=SubmissionOutcome, **kwargs)


class SellerFormRotateView(ManageMixin, View):
    """A new key for the form: the old address stops working at once."""

    http_method_names = ["post"]

    def post(self, request, pk):
        form = seller_form_get(fetched_by=request.user, pk=pk)
        seller_form_rotate_key(form=form)
        messages.warning(request, ROTATED.format(name=form.name))
        return HttpResponseRedirect(reverse("intake:detail", args=[form.pk]))
