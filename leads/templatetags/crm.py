"""Display helpers for money and phone numbers, so templates never format by hand."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils.safestring import mark_safe

from leads.phones import format_national

register = template.Library()


@register.filter
def usd(value, signed: bool = False):
    """``Decimal('-70632.4')`` -> ``'−$70,632'``; None -> ``'—'``. ``usd:True`` adds ``+``."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value).quantize(Decimal("1"))
    except (InvalidOperation, TypeError, ValueError):
        return value
    sign = "−" if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}${abs(amount):,.0f}"


@register.filter
def usd_short(value):
    """``762000`` -> ``'$762K'``, ``1250000`` -> ``'$1.3M'``."""
    if not value:
        return "$0"
    amount = float(value)
    if abs(amount) >= 1_000_000:
        return f"${amount / 1_000_000:.1f}M"
    if abs(amount) >= 1_000:
        return f"${amount / 1_000:.0f}K"
    return f"${amount:.0f}"


@register.filter
def phone(value):
    """``'+19185550104'`` -> ``'(918) 555-0104'``; anything else is shown as it is."""
    if isinstance(value, str) and value.startswith("+"):
        return format_national(value)
    return value


@register.filter
def clock(iso: str) -> str:
    """``'2026-11-18T14:29:00-06:00'`` -> ``'2:29 PM'`` (the time as it is there)."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return moment.strftime("%I:%M %p").lstrip("0")


@register.filter
def zone_name(zone: str) -> str:
    """``'America/North_Dakota/Center'`` -> ``'North Dakota/Center'``."""
    return (zone or "").split("/", 1)[-1].replace("_", " ")


@register.simple_tag
def include_jinja(template_name, **values):
    """Render a Jinja2 row fragment (``templates/jinja2/``) with exactly ``values``.

    For the loops a busy page runs fifty times a request (see ``leadcrm/shared/jinja2.py``);
    the fragment escapes what it prints, so its output is marked safe here.
    """
    from django.template import engines

    return mark_safe(engines["jinja2"].env.get_template(template_name).render(values))
