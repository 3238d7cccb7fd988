"""The colours of static/css/app.css against what they sit on, by the WCAG 2.2 formula: text
4.5:1 (1.4.3), the focus ring and the edges of fields 3:1 (1.4.11), checked without a browser so
a new token that fails is caught here rather than by axe in the browser story."""

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()

# Bootstrap 5.3's tinted backgrounds (its --bs-*-bg-subtle), which app.css does not restyle.
ALERTS = {"alert-primary": "#cfe2ff", "alert-secondary": "#e2e3e5", "alert-success": "#d1e7dd",
          "alert-info": "#cff4fc", "alert-warning": "#fff3cd", "alert-danger": "#f8d7da", "bg-light": "#f8f9fa"}
# Backgrounds of app.css's own boxes that carry muted, link and status text.
BOXES = (".verdict-allow", ".verdict-warn", ".verdict-block", ".disclosure-box", ".list-group-item.active-row",
         ".board-col", ".notification-unread", ".bubble-in", ".bubble-out", ".script-text", ".stage-list")
TEXT = ("--lc-ink", "--lc-muted", "--lc-primary", "--lc-primary-dark", "--lc-success", "--lc-danger", "--lc-code")


def root_tokens():
    block = re.search(r":root\s*{(.*?)}", CSS, re.S).group(1)
    raw = dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", re.sub(r"/\*.*?\*/", "", block, flags=re.S)))

    def resolve(value):
        ref = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
        return resolve(raw[ref.group(1)]) if ref else value.strip()

    return {name: resolve(value) for name, value in raw.items()}


TOKENS = root_tokens()


def rgb(colour):
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def luminance(colour):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    r, g, b = map(channel, rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(one, two):
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def over(colour, alpha, base):
    """A translucent colour composited on a base (Bootstrap's table stripes and hover)."""
    return "#" + "".join(f"{round(c * alpha + b * (1 - alpha)):02x}" for c, b in zip(rgb(colour), rgb(base), strict=True))


def box_background(selector):
    rule = re.search(re.escape(selector) + r"\s*{([^}]*)}", CSS)
    return re.search(r"background(?:-color)?\s*:\s*(#[0-9a-fA-F]{3,6})", rule.group(1)).group(1)


def light_backgrounds():
    page = TOKENS["--lc-bg"]
    backgrounds = {"page": page, "card": "#ffffff", **ALERTS,
                   "stripe": over("#000000", 0.05, page), "stripe on white": over("#000000", 0.05, "#ffffff"),
                   "row hover": over("#000000", 0.075, page)}
    backgrounds.update({selector: box_background(selector) for selector in BOXES})
    return backgrounds


@pytest.mark.parametrize("token", TEXT)
def test_text_colours_pass_4_5_on_every_light_background(token):
    failing = {name: round(ratio(TOKENS[token], bg), 2) for name, bg in light_backgrounds().items()
               if ratio(TOKENS[token], bg) < 4.5}
    assert not failing, f"{token} {TOKENS[token]}: {failing}"


@pytest.mark.parametrize("token", ("--lc-primary", "--lc-primary-dark", "--lc-muted", "--lc-success", "--lc-danger", "--lc-navy"))
def test_white_text_passes_on_the_filled_buttons_and_badges(token):
    assert ratio("#ffffff", TOKENS[token]) >= 4.5, token


def test_the_focus_ring_is_3_to_1_on_light_backgrounds_and_on_the_navy_menu_bar():
    backgrounds = {**light_backgrounds(), "navbar": TOKENS["--lc-navy"]}
    failing = {name: round(ratio(TOKENS["--lc-focus"], bg), 2) for name, bg in backgrounds.items()
               if ratio(TOKENS["--lc-focus"], bg) < 3}
    assert not failing, failing


def test_field_edges_are_3_to_1_against_the_field_and_the_page():
    for bg in ("#ffffff", TOKENS["--lc-bg"]):
        assert ratio(TOKENS["--lc-control-border"], bg) >= 3, bg


def test_bootstrap_rgb_triplets_match_their_colours():
    """Bootstrap's utilities read the -rgb triplets, its buttons the colours: they must agree."""
    for name in ("--bs-primary", "--bs-link-color", "--bs-link-hover-color", "--bs-secondary", "--bs-success", "--bs-danger"):
        triplet = tuple(int(part) for part in TOKENS[f"{name}-rgb"].split(","))
        assert triplet == rgb(TOKENS[name]), name


def test_the_wcag_formula_matches_known_ratios():
    assert round(ratio("#000000", "#ffffff"), 2) == 21
    assert round(ratio("#6c757d", "#f4f6f9"), 2) == 4.33  # Bootstrap's grey on the page, as axe reported it
