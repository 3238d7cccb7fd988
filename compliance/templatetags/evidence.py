"""The lead's consent and records as a card of the lead page: ``{% evidence_card lead %}``.

The tag only gathers what the card shows (``evidence_views.evidence_card_context``: the
records, their states and the forms); the lead page's view needs to know nothing of it.
"""

from django import template

from compliance.evidence_views import evidence_card_context

register = template.Library()


@register.inclusion_tag("compliance/partials/_evidence_card.html", takes_context=True)
def evidence_card(context, lead):
    return evidence_card_context(context["request"], lead)
