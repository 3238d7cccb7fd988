"""``{{ text|notice_linebreaks }}``: a message as paragraphs, like ``linebreaks``, with
Regulation O's "IMPORTANT NOTICE" heading in bold and two points larger than the text
around it (F3: docs/compliance-rules.md#f3), for letters and previews printed as HTML."""

from django import template
from django.template.defaultfilters import linebreaks_filter
from django.utils.html import format_html
from django.utils.safestring import SafeString

from compliance.disclosures import HEADING

register = template.Library()


@register.filter(needs_autoescape=True)
def notice_linebreaks(text: str, autoescape: bool = True) -> SafeString:
    lines = (text or "").splitlines()
    at = next((index for index, line in enumerate(lines) if line.strip().upper() == HEADING), None)
    if at is None:
        return linebreaks_filter(text, autoescape)
    before, after = "\n".join(lines[:at]), "\n".join(lines[at + 1:])
    # calc(): two points larger than whatever size the body prints at.
    return format_html('{}<p class="reg-o-heading" style="font-weight:bold;font-size:calc(1em + 2pt)">{}</p>{}',
                       linebreaks_filter(before, autoescape), HEADING, linebreaks_filter(after, autoescape))
