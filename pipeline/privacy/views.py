"""The broker's privacy pages, under /admin/privacy/ in the admin's look like the reports:
find a homeowner, download everything held, erase (a preview, then a typed confirmation),
and the list of past requests. Anyone but a broker gets a 404: the pages are not there for
them (docs/privacy.md#how-to-answer-a-request)."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from pipeline.models import Requester

from .selectors import PrivacySearch, is_privacy_officer, privacy_matches, privacy_preview, privacy_requests
from .services import CONFIRM_WORD, privacy_access_answer, privacy_erase

# Shown under the note on both forms: the note is kept for good with the request's record
# (docs/privacy.md#the-record-of-requests), so it must say how, never who.
VERIFICATION_HELP = ("Say how you checked who asked (e.g. 'called back the number on file'); "
                     "don't type their details here. This note is kept.")
EMPTY_SEARCH = "Type a name, phone, email or street to search."
ERASED_DONE = "Erased: {rows:,} rows changed across {models} kinds of record, {files} files deleted."


def broker_only(view):
    """Signed out: to the admin's sign-in. Signed in but not a broker: 404. A broker goes
    through the admin's own checks (``admin_view``)."""
    guarded = admin.site.admin_view(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            # The path alone: nothing a form sent rides along to the sign-in page.
            return redirect_to_login(request.path, reverse("admin:login"))
        if not is_privacy_officer(request.user):
            raise Http404("No such page.")
        return guarded(request, *args, **kwargs)

    return wrapper


def _search(data) -> PrivacySearch:
    return PrivacySearch(name=data.get("name", ""), phone=data.get("phone", ""), email=data.get("email", ""),
                         address=data.get("address", ""))


def _chosen(data) -> list[int]:
    return [int(value) for value in data.getlist("lead") if value.isdigit()]


def _page(request, template: str, status: int = 200, **context) -> TemplateResponse:
    return TemplateResponse(request, f"admin/privacy/{template}", {
        **admin.site.each_context(request), "requesters": Requester.choices, "confirm_word": CONFIRM_WORD,
        "verification_help": VERIFICATION_HELP,
        **context}, status=status)


@require_http_methods(["GET", "POST"])
def privacy_index(request):
    """The search is a POST: a homeowner's name and number stay out of addresses, and so
    out of the server's logs and the browser's history."""
    return _index(request, _search(request.POST))


def _index(request, search: PrivacySearch, errors: list[str] | None = None, status: int = 200):
    asked = any(search.as_query().values())
    # "Find" pressed with every box empty: say what to type, rather than nothing at all.
    empty_search = EMPTY_SEARCH if request.method == "POST" and not asked and not errors else ""
    matches = privacy_matches(fetched_by=request.user, search=search) if asked and not search.problems else None
    return _page(request, "index.html", status=status, title="Privacy requests", search=search, asked=asked,
                 matches=matches, empty_search=empty_search, problems=(search.problems if asked else []) + (errors or []),
                 requests=privacy_requests(fetched_by=request.user))


@require_POST
def privacy_download(request):
    search = _search(request.POST)
    try:
        privacy_request, package = privacy_access_answer(
            handled_by=request.user, search=search, lead_ids=_chosen(request.POST),
            requester=request.POST.get("requester", ""), verification=request.POST.get("verification", ""))
    except ValidationError as error:
        return _index(request, search, errors=error.messages, status=400)
    response = HttpResponse(package, content_type="application/zip")
    response["Content-Disposition"] = (f'attachment; filename="privacy-request-{privacy_request.pk}_'
                                       f'{timezone.localdate():%Y-%m-%d}.zip"')
    return response


@require_POST
def privacy_erase_preview(request):
    search, chosen = _search(request.POST), _chosen(request.POST)
    preview = privacy_preview(fetched_by=request.user, lead_ids=chosen) if chosen else []
    return _page(request, "erase.html", title="Erase a homeowner's data", search=search, chosen=chosen,
                 preview=preview, total=sum(entry[2] for entry in preview),
                 requester=request.POST.get("requester", ""), verification=request.POST.get("verification", ""))


@require_POST
def privacy_erase_confirm(request):
    search, chosen = _search(request.POST), _chosen(request.POST)
    try:
        done = privacy_erase(handled_by=request.user, search=search, lead_ids=chosen,
                             requester=request.POST.get("requester", ""),
                             verification=request.POST.get("verification", ""),
                             confirmation=request.POST.get("confirmation", ""))
    except ValidationError as error:
        preview = privacy_preview(fetched_by=request.user, lead_ids=chosen) if chosen else []
        return _page(request, "erase.html", title="Erase a homeowner's data", search=search, chosen=chosen,
                     preview=preview, total=sum(entry[2] for entry in preview),
                     requester=request.POST.get("requester", ""), verification=request.POST.get("verification", ""),
                     errors=error.messages, status=400)
    actions = list(done.actions.all())
    messages.success(request, ERASED_DONE.format(rows=sum(action.rows for action in actions), models=len(actions),
                                                 files=sum(action.files_removed for action in actions)))
    return redirect("privacy:index")


def urls():
    """Under /admin/privacy/, before the admin's catch-all."""
    return [
        path("", broker_only(privacy_index), name="index"),
        path("download/", broker_only(privacy_download), name="download"),
        path("erase/", broker_only(privacy_erase_preview), name="erase_preview"),
        path("erase/confirm/", broker_only(privacy_erase_confirm), name="erase_confirm"),
    ]
