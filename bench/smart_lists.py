"""The dashboard's smart lists on the synthetic brokerage: every saved search a user sees,
each counted in their own visible leads, as ``pipeline.workspace.smart_lists`` does it.

Tags go on a fifth of the leads ("Vacant") and on one in a hundred ("Probate"); the
agent whose book is closest to 10,000 leads saves six searches and shares them with
their team; the broker saves the same six for themselves. Measured, for the agent, their
team lead and the broker: ``smart_lists`` (best of five, warm) and its queries. Baseline
in the same run: the same six totals as the lead list finds them when each link is
opened, one search at a time (``capped_total``: the same cap, a query each). Also shown,
to say what the cap saves: the six counts done exactly (``COUNT(*)`` of every matching
row), and the plan of the capped query.
"""

from __future__ import annotations

import time

from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

BEST_OF = 5
TARGET_LEADS = 10_000
SEARCHES = [  # name, query (the tags' and the list's ids filled in)
    ("Vacant", "tag={vacant}"),
    ("Probate", "tag={probate}"),
    ("Contacted", "stage=contact"),
    ("Vacant, score 50+", "tag={vacant}&min_score=50"),
    ("On the NOD list", "list={nod}"),
    ("Everything, closed too", "status=all"),
]


def _best(call) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(BEST_OF):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def _seed(agent, broker) -> dict:
    """Tags on the leads (one INSERT ... SELECT each) and the saved searches."""
    from leads.models import LeadList, SavedSearch, Tag

    team = agent.team_membership.team
    vacant, _ = Tag.objects.get_or_create(name="Vacant", team=team)
    probate, _ = Tag.objects.get_or_create(name="Probate", team=None)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM leads_leadtag WHERE tag_id IN (%s, %s)", [vacant.pk, probate.pk])
        for tag, every in ((vacant, 5), (probate, 100)):
            cursor.execute("INSERT INTO leads_leadtag (lead_id, tag_id, added_at) "
                           "SELECT id, %s, now() FROM leads_lead WHERE id %% %s = 0", [tag.pk, every])
        cursor.execute("ANALYZE leads_leadtag")
    nod = LeadList.objects.order_by("pk").first()
    ids = {"vacant": vacant.pk, "probate": probate.pk, "nod": nod.pk if nod else 0}
    SavedSearch.objects.filter(owner__in=[agent, broker]).delete()
    for owner, shared in ((agent, team), (broker, None)):
        SavedSearch.objects.bulk_create([SavedSearch(owner=owner, team=shared, name=name, query=query.format(**ids))
                                         for name, query in SEARCHES])
    return ids


def bench_smart_lists() -> None:
    from compliance.lead_filters import LeadFilter
    from leadcrm.accounts.models import User
    from leadcrm.shared.pagination import capped_total
    from leads.models import Lead, LeadTag
    from pipeline.workspace.smart_lists import capped_counts_sql, saved_searches_visible_to, smart_lists

    from .web import _agent_near

    agent, book = _agent_near(TARGET_LEADS)
    team_lead = agent.team_membership.team.lead
    broker = User.objects.filter(groups__name="Broker", is_active=True).order_by("pk").first()
    if broker is None:  # the generated brokerage has agents and team leads only
        from leadcrm.accounts.roles import Role
        from leadcrm.accounts.services import user_set_role

        broker = User.objects.create_user(username="bench.broker", first_name="Bench", last_name="Broker")
        user_set_role(user=broker, role=Role.BROKER)
    _seed(agent, broker)
    total = Lead.objects.count()
    print(f"\n[smart lists] {len(SEARCHES)} saved searches on {total:,} leads, "
          f"{LeadTag.objects.count():,} tags on them; the agent's book {book:,} leads")
    for who, user in (("agent", agent), ("team lead", team_lead), ("broker", broker)):
        smart_lists(fetched_by=user)  # warm: the lists' choices are cached a few minutes
        with CaptureQueriesContext(connection) as captured:
            found = smart_lists(fetched_by=user)
        seconds, _ = _best(lambda user=user: smart_lists(fetched_by=user))
        visible = Lead.objects.visible_to(user)
        baseline, _ = _best(lambda user=user, visible=visible: [
            capped_total(LeadFilter(QueryDict(s.query), queryset=visible, user=user).qs)
            for s in saved_searches_visible_to(user)])
        exact, _ = _best(lambda user=user, visible=visible: [
            LeadFilter(QueryDict(s.query), queryset=visible, user=user).qs.count()
            for s in saved_searches_visible_to(user)])
        counts = ", ".join(f"{s.search.name} {s.count:,}{'+' if s.capped else ''}" for s in found)
        print(f"  {who:<10} smart_lists {seconds * 1000:7.1f} ms in {len(captured)} queries ({counts})")
        print(f"  {'':<10} baseline: the list's capped totals one by one {baseline * 1000:7.1f} ms "
              f"(ratio {seconds / baseline:.2f}); the same counts done exactly {exact * 1000:7.1f} ms "
              f"(ratio {seconds / exact:.2f})")
    # The plan of the broker's capped counts: each subquery stops at 1,001 rows.
    visible = Lead.objects.visible_to(broker)
    querysets = [LeadFilter(QueryDict(s.query), queryset=visible, user=broker).qs
                 for s in saved_searches_visible_to(broker)]
    sql, params = capped_counts_sql(querysets, 1000)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {sql}", params)
        plan = [row[0] for row in cursor.fetchall()]
    print("  the broker's counts, as PostgreSQL runs them:")
    for line in plan:
        print(f"    {line}")
