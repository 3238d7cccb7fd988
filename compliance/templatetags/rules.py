"""Rule codes (A4, D3, B1 ...) as links to their plain-English entry on the rules page.

``{{ finding.rule|rule_link }}`` renders one code as a link with the rule's title as its
tooltip (``{{ finding.rule|rule_link:"badge text-bg-danger" }}`` adds classes, for the
badges of the verdicts); ``{% rule_code warning.rule "badge text-bg-warning" warning.reason %}``
does the same with a finding's own reason as the tooltip; ``{{ text|rule_codes }}``
escapes a sentence and links every code it names ("blocked under A3"). A code the gate
does not know stays plain text.
"""

from __future__ import annotations

import re

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from compliance.rules import RULES

register = template.Library()

CODES = re.compile(r"\b(" + "|".join(sorted(RULES, key=lambda code: (-len(code), code))) + r")\b")


def _link(code: str, css: str = "", reason: str = "") -> str:
    rule = RULES[code]
    return format_html('<a href="{}#rule-{}" class="{}" title="{}: {}">{}</a>', reverse("compliance:rules"), code,
                       " ".join(filter(None, ["rule-code", css])), code, reason or rule.title, code)


@register.filter
def rule_link(code, css: str = ""):
    return rule_code(code, css)


@register.simple_tag
def rule_code(code, css: str = "", reason: str = ""):
    code = str(code or "").strip()
    if code not in RULES:
        if css or reason:
            return format_html('<span class="{}" title="{}">{}</span>', css, reason, code)
        return conditional_escape(code)
    return _link(code, css, str(reason or ""))


@register.filter(needs_autoescape=True)
def rule_codes(text, autoescape=True):
    escaped = conditional_escape(str(text)) if autoescape else str(text)
    return mark_safe(CODES.sub(lambda match: _link(match.group(1)), escaped))
