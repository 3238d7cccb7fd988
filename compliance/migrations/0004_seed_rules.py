"""Seed the rules tables (docs/compliance-rules.md, sections A, C, D, E, F, G).

The data is written out here rather than imported, so that later edits to code never
change what this migration did. Brokers edit the rows in the admin afterwards; a
changed rule gets a new row with its own ``effective_from``.
"""

from datetime import date, time, timedelta

from dateutil.easter import easter
from django.db import migrations

PARAMETERS = [
    # rule, key, value, description, source, verified
    ("A3", "max_age_days", 31, "Registry data older than this on the call date blocks.",
     "16 CFR 310.4(b)(3)(iv); 47 CFR 64.1200(c)(2)(i)", True),
    ("A3", "warn_age_days", 21, "Registry data this old or older warns: refresh before day 31.",
     "The brokerage's own margin before the 31-day limit of 16 CFR 310.4(b)(3)(iv)", True),
    ("D1", "window_start_hour", 8, "No solicitation before this hour, called party's local time.",
     "47 CFR 64.1200(c)(1); 16 CFR 310.4(c)", True),
    ("D1", "window_end_hour", 21, "No solicitation at or after this hour, called party's local time.",
     "47 CFR 64.1200(c)(1); 16 CFR 310.4(c)", True),
    ("C1", "inquiry_days", 90, "An inquiry EBR lasts 3 months; the shorter of 90 days and 3 calendar months applies.",
     "FTC TSR FAQ; [UNVERIFIED] calendar months or 90 days", False),
    ("C1", "inquiry_months", 3, "An inquiry EBR lasts 3 calendar months (the shorter reading applies).",
     "16 CFR 310.2(q)", True),
    ("C1", "transaction_months", 18, "A purchase, delivery or payment EBR lasts 18 months.",
     "16 CFR 310.2(q)", True),
    ("E2", "cap_window_hours", 24, "State attempt caps count a rolling window of this many hours.",
     "Fla. 501.616(6); 15 O.S. 775C.4; Md. CL 14-4502", True),
    ("G2", "max_phone_zones", 3, "More phone time zones than this, with no address zone, blocks.",
     "The brokerage's own fail-closed limit for the window of 47 CFR 64.1200(c)(1)", True),
    ("D7", "rnd_recheck_days", 30, "Re-query the Reassigned Numbers Database this often before automated contact.",
     "47 CFR 64.1200(m); FCC 18-177", True),
]

# state, start, end, extra fields, source, verified, effective_from
STATE_RULES = [
    ("FL", "08:00", "20:00", {"frequency_cap": 3, "area_code_presumption": True},
     "Fla. Stat. 501.616(6); 501.059; SB 1120 (2021)", True, date(2021, 7, 1)),
    ("OK", "08:00", "20:00", {"frequency_cap": 3, "area_code_presumption": True},
     "15 O.S. 775C.4 (DNC.com summary)", True, date(2022, 11, 1)),
    ("MD", "08:00", "20:00", {"frequency_cap": 3, "cap_counts_texts": True},
     "Md. CL 14-4502 (Stop the Spam Calls Act)", True, date(2024, 1, 1)),
    ("WA", "08:00", "20:00", {"ebr_purchase_months": 12}, "RCW 19.158.040; RCW 80.36.390", True, date(2000, 1, 1)),
    ("TX", "09:00", "21:00", {"sunday_start": time(12), "sunday_end": time(21), "registration_required": True},
     "Tex. Bus. & Com. Code 301-304; Texas REALTORS", True, date(2000, 1, 1)),
    ("AL", "08:00", "20:00", {"no_sunday": True, "no_holidays": True},
     "vendor summaries (ClickPoint Jul 2025, Drop Cowboy Nov 2025 agree); Ala. Code 1-3-8 holidays", False,
     date(2000, 1, 1)),
    ("LA", "08:00", "20:00", {"no_sunday": True, "no_holidays": True},
     "vendor summaries (two agree); La. R.S. 1:55 holidays", False, date(2000, 1, 1)),
    ("MS", "08:00", "20:00", {"no_sunday": True}, "vendor summary", False, date(2000, 1, 1)),
    ("KY", "10:00", "21:00", {}, "vendor summaries (two agree)", False, date(2000, 1, 1)),
    ("MA", "08:00", "20:00", {}, "vendor summaries (two agree)", False, date(2000, 1, 1)),
    ("CT", "09:00", "20:00", {}, "[UNVERIFIED] vendor: 9-20 or 9-21; the stricter is seeded", False, date(2000, 1, 1)),
    ("MI", "09:00", "21:00", {}, "[UNVERIFIED] vendor, one source", False, date(2000, 1, 1)),
    ("MN", "09:00", "21:00", {}, "[UNVERIFIED] vendor, one source", False, date(2000, 1, 1)),
    ("NM", "09:00", "21:00", {}, "[UNVERIFIED] vendor, one source", False, date(2000, 1, 1)),
    ("NV", "09:00", "20:00", {}, "[UNVERIFIED] vendor, one source", False, date(2000, 1, 1)),
    ("RI", "08:00", "21:00", {"no_holidays": True}, "[UNVERIFIED] holidays; federal holidays seeded as a presumption", False, date(2000, 1, 1)),
    ("PA", "08:00", "21:00", {"no_holidays": True}, "[UNVERIFIED] holidays; federal holidays seeded as a presumption", False, date(2000, 1, 1)),
    ("UT", "08:00", "21:00", {"no_holidays": True}, "[UNVERIFIED] holidays; federal holidays seeded as a presumption", False, date(2000, 1, 1)),
]

# Texas SB 140: from 2025-09-01 texts are solicitations too. The earlier row covers calls only.
TEXAS_TEXTS_FROM = date(2025, 9, 1)

PHRASES = [
    (r"\bguarantee(s|d)?\b", "guarantee(d)", "No one can promise what a lender will decide (Reg O 1015.3)."),
    (r"\bstop(ping)?\s+(the\s+|your\s+)?foreclosure\b", "stop (the) foreclosure",
     "A short sale does not promise to stop a foreclosure (Reg O 1015.3; FTC)."),
    (r"\bsave\s+your\s+(home|house)\b", "save your home",
     "A short sale sells the home; promising to save it misleads (FTC, OCC Advisory 2011-1)."),
    (r"\bgovernment[-\s]+(program|approved|backed|sponsored)\b", "government program / approved",
     "Implying government affiliation is barred (Reg O 1015.3; 18 U.S.C. 709)."),
    (r"\b(HUD|HAMP)\b", "HUD / HAMP", "Agency names imply affiliation (18 U.S.C. 709, 1017)."),
    (r"\bFHA\s+(program|approved|backed)\b", "FHA program / approved", "Implies an FHA affiliation (18 U.S.C. 709)."),
    (r"\bmaking\s+home\s+affordable\b", "Making Home Affordable", "A government program name (18 U.S.C. 709)."),
    (r"\bwe\s+work\s+(directly\s+|closely\s+)?with\s+your\s+(lender|bank|servicer)\b", "we work with your lender",
     "Misrepresents affiliation with the servicer (Reg O 1015.3)."),
    (r"\bstop\s+paying\s+(your\s+)?(mortgage|lender|bank|loan)\b", "stop paying your mortgage",
     "Advising to stop payments needs the Reg O warning and is rarely appropriate (1015.4)."),
    (r"\bpay\s+us\s+instead\b", "pay us instead", "A classic foreclosure-rescue scam (FTC Facts, 2008)."),
    (r"\bsign\s+(the|your)\s+deed\s+(over\s+)?to\s+us\b", "sign the deed to us",
     "Deed transfers to the 'rescuer' are a rescue scam (FTC; equity-purchaser laws)."),
    (r"\b(lease|rent)\s+it\s+back\b", "lease it back", "Lease-back schemes are a rescue scam (FTC)."),
    (r"\bbuy\s+it\s+back\b", "buy it back", "Buy-back schemes are a rescue scam (FTC)."),
    (r"\bno[-\s]+risk\b", "no risk", "Misrepresents the risks of a short sale (Reg O 1015.3)."),
    (r"\b(pre-?)?approved\b", "approved", "Promises lender approval; only the lender decides (Reg O 1015.3)."),
    (r"\b(your\s+)?(lender|bank)\s+will\s+(approve|accept|agree)\b", "your lender will approve",
     "Promises a lender's decision (Reg O 1015.3)."),
    (r"\b(close|closing|sold)\s+(with)?in\s+\d+\s+days\b", "close in N days",
     "Promises a timeline the lender controls (Reg O 1015.3)."),
]
PHRASE_SOURCE = "12 CFR 1015.3 (Regulation O); FTC Facts for Consumers, Feb 2008; OCC Advisory 2011-1; CFPB"


def nth_weekday(year, month, weekday, n):
    """n-th weekday (Monday 0) of a month; n = -1 for the last."""
    if n > 0:
        day = date(year, month, 1)
        day += timedelta(days=(weekday - day.weekday()) % 7)
        return day + timedelta(weeks=n - 1)
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def observed(day):
    """Saturday holidays are observed on Friday, Sunday ones on Monday (Ala. Code 1-3-8, E3)."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


def federal(year):
    return [
        ("New Year's Day", observed(date(year, 1, 1))),
        ("Martin Luther King Jr. Day", nth_weekday(year, 1, 0, 3)),
        ("Washington's Birthday", nth_weekday(year, 2, 0, 3)),
        ("Memorial Day", nth_weekday(year, 5, 0, -1)),
        ("Juneteenth", observed(date(year, 6, 19))),
        ("Independence Day", observed(date(year, 7, 4))),
        ("Labor Day", nth_weekday(year, 9, 0, 1)),
        ("Columbus Day", nth_weekday(year, 10, 0, 2)),
        ("Veterans Day", observed(date(year, 11, 11))),
        ("Thanksgiving Day", nth_weekday(year, 11, 3, 4)),
        ("Christmas Day", observed(date(year, 12, 25))),
    ]


def alabama(year):
    return [
        ("New Year's Day", observed(date(year, 1, 1))),
        ("Robert E. Lee / Martin Luther King Jr. Birthday", nth_weekday(year, 1, 0, 3)),
        ("George Washington / Thomas Jefferson Birthday", nth_weekday(year, 2, 0, 3)),
        ("Confederate Memorial Day", nth_weekday(year, 4, 0, 4)),
        ("National Memorial Day", nth_weekday(year, 5, 0, -1)),
        ("Jefferson Davis' Birthday", nth_weekday(year, 6, 0, 1)),
        ("Independence Day", observed(date(year, 7, 4))),
        ("Labor Day", nth_weekday(year, 9, 0, 1)),
        ("Columbus Day / American Indian Heritage Day", nth_weekday(year, 10, 0, 2)),
        ("Veterans Day", observed(date(year, 11, 11))),
        ("Thanksgiving Day", nth_weekday(year, 11, 3, 4)),
        ("Christmas Day", observed(date(year, 12, 25))),
    ]


def louisiana(year):
    easter_day = easter(year)
    return [
        ("New Year's Day", observed(date(year, 1, 1))),
        ("Martin Luther King Jr. Day", nth_weekday(year, 1, 0, 3)),
        ("Mardi Gras", easter_day - timedelta(days=47)),
        ("Good Friday", easter_day - timedelta(days=2)),
        ("Memorial Day", nth_weekday(year, 5, 0, -1)),
        ("Independence Day", observed(date(year, 7, 4))),
        ("Labor Day", nth_weekday(year, 9, 0, 1)),
        ("Veterans Day", observed(date(year, 11, 11))),
        ("Thanksgiving Day", nth_weekday(year, 11, 3, 4)),
        ("Christmas Day", observed(date(year, 12, 25))),
    ]


HOLIDAYS = {
    "AL": (alabama, "Ala. Code 1-3-8 (observed-day shifts per E3)"),
    "LA": (louisiana, "La. R.S. 1:55 [UNVERIFIED observed-day shifts]"),
    "RI": (federal, "[UNVERIFIED] federal holidays presumed"),
    "PA": (federal, "[UNVERIFIED] federal holidays presumed"),
    "UT": (federal, "[UNVERIFIED] federal holidays presumed"),
}
YEARS = range(2025, 2031)


def seed(apps, schema_editor):
    RuleParameter = apps.get_model("compliance", "RuleParameter")
    StateCallingRule = apps.get_model("compliance", "StateCallingRule")
    StateHoliday = apps.get_model("compliance", "StateHoliday")
    ProhibitedPhrase = apps.get_model("compliance", "ProhibitedPhrase")

    for rule, key, value, description, source, verified in PARAMETERS:
        RuleParameter.objects.get_or_create(
            rule=rule, key=key, effective_from=date(2000, 1, 1),
            defaults={"value": value, "description": description, "source": source, "verified": verified},
        )
    for state, start, end, extra, source, verified, since in STATE_RULES:
        fields = {
            "window_start": time.fromisoformat(start), "window_end": time.fromisoformat(end),
            "source": source, "verified": verified, **extra,
        }
        if state == "TX":
            StateCallingRule.objects.get_or_create(
                state=state, effective_from=since,
                defaults={**fields, "effective_to": TEXAS_TEXTS_FROM - timedelta(days=1)},
            )
            StateCallingRule.objects.get_or_create(
                state=state, effective_from=TEXAS_TEXTS_FROM,
                defaults={**fields, "registration_covers_texts": True,
                          "source": source + "; SB 140 (2025-09-01): texts are solicitations"},
            )
        else:
            StateCallingRule.objects.get_or_create(state=state, effective_from=since, defaults=fields)
    for state, (calendar, source) in HOLIDAYS.items():
        for year in YEARS:
            for name, day in calendar(year):
                StateHoliday.objects.get_or_create(state=state, observed_on=day, name=name,
                                                   defaults={"source": source})
    for pattern, label, why in PHRASES:
        ProhibitedPhrase.objects.get_or_create(
            label=label, defaults={"pattern": pattern, "why": why, "source": PHRASE_SOURCE}
        )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0003_registries_rules_consent")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
