"""Scripts and templates: the brokerage's shared ones and each agent's own."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from compliance.disclosures import FEE_FIELD
from leadcrm.accounts.roles import Perm
from pipeline.common import add_service_error
from pipeline.deals.reg_o import with_standard_disclosure
from pipeline.models import MessageTemplate, TemplateKind

from .forms import MessageTemplateForm
from .scripts import KNOWN_FIELDS, template_save

# The button that adds Regulation O's notice (F3) to the words being written.
INSERT_NOTICE = "insert_notice"


class ScriptsView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """The list, and a form that adds one (or, with a pk, changes one)."""

    permission_required = "pipeline.view_messagetemplate"
    template_name = "pipeline/scripts.html"

    def dispatch(self, request, *args, **kwargs):
        self.template = None
        if request.user.is_authenticated and kwargs.get("pk"):
            # Another agent's own template is a 404, like anything else not yours.
            editable = MessageTemplate.objects.filter(Q(owner=request.user) | Q(owner__isnull=True))
            self.template = get_object_or_404(editable, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    @property
    def may_share(self) -> bool:
        return self.request.user.has_perm(Perm.MANAGE_TEMPLATES)

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        if form is None:
            initial = {}
            if self.template is not None:
                initial = {"name": self.template.name, "kind": self.template.kind, "subject": self.template.subject,
                           "body": self.template.body, "shared": self.template.is_shared,
                           "attach_guide": self.template.attach_guide, "capacity": self.template.capacity,
                           "situation": self.template.situation}
            form = MessageTemplateForm(initial=initial, may_share=self.may_share)
        context.update(
            templates=list(MessageTemplate.objects.usable_by(self.request.user).select_related("owner")),
            form=form,
            editing=self.template,
            read_only=self.template is not None and self.template.is_shared and not self.may_share,
            known_fields=KNOWN_FIELDS,
        )
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm("pipeline.add_messagetemplate"):
            return self.handle_no_permission()
        if INSERT_NOTICE in request.POST:
            # One click: Regulation O's notice (F3) added to the words as they stand, with the
            # brokerage's name and the [Total Fee] merge field; saved only with "Save".
            data = request.POST.copy()
            spoken = data.get("kind") == TemplateKind.CALL_SCRIPT
            data["body"] = with_standard_disclosure(data.get("body", ""), spoken=spoken, lead=None, fee=FEE_FIELD)
            form = MessageTemplateForm(data, may_share=self.may_share)
            form.is_valid()
            form.errors.clear()
            return self.render_to_response(self.get_context_data(form=form))
        form = MessageTemplateForm(request.POST, may_share=self.may_share)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = template_save(actor=request.user, name=data["name"], kind=data["kind"], body=data["body"],
                                      subject=data["subject"], shared=data.get("shared", False),
                                      template=self.template, attach_guide=data.get("attach_guide", False),
                                      capacity=data.get("capacity", ""), situation=data["situation"])
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"Saved “{saved.name}”.")
                return HttpResponseRedirect(reverse("pipeline:script_edit", args=[saved.pk]))
        return self.render_to_response(self.get_context_data(form=form), status=400)
