"""The application's URLs plus ``/bench/bare/``: the web benchmark's baseline.

The bare view is a plain Django page of 50 rows (one query on the leads table, its
primary-key index, a standalone template with no context processors) behind the same
middleware as every page: what any Django page costs on this machine before app logic.
"""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from leadcrm.urls import urlpatterns as app_urlpatterns
from leads.models import Lead

BARE_ROWS = 50
BARE_TEMPLATE = engines["django"].from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bare</title></head><body>
<table>
<thead><tr><th>#</th><th>Stage</th><th>Type</th><th>Score</th><th>Liens</th><th>Created</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td>{{ row.0 }}</td><td>{{ row.1 }}</td><td>{{ row.2 }}</td><td>{{ row.3 }}</td>
<td>{{ row.4 }}</td><td>{{ row.5|date:"M j, Y" }}</td></tr>
{% endfor %}</tbody>
</table>
</body></html>"""
)


def bare(request):
    rows = Lead.objects.order_by("pk").values_list(
        "pk", "stage", "lead_type", "score", "lien_total", "created_at"
    )[:BARE_ROWS]
    return HttpResponse(BARE_TEMPLATE.render({"rows": rows}))


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *app_urlpatterns]
