"""Prohibited representations beyond the promise list (F5), as phrase rows.

Regulation O bans telling a homeowner not to contact their lender or servicer, and
misrepresenting the likelihood or timing of a result, an affiliation with the government,
HUD, the lender or servicer, and refund terms (docs/compliance-rules.md#f5). These are
patterns, not single words: each allows "don't / do not / never", the ways of reaching a
lender ("contact", "call", "talk to", "speak with", "respond to", "answer") and what the
homeowner calls it ("your lender / bank / servicer / mortgage company"), and needs the
negation, so "call your lender to ask for the short-sale package" is no hit. Versioned
like the F6 rows: counsel narrows or retires one with a dated row, without a release.
The phrase table holds no Spanish rows yet, so neither does F5.
"""

import datetime

from django.db import migrations

SOURCE_A = "12 CFR 1015.3(a) (Regulation O)"
SOURCE_B = "12 CFR 1015.3(b) (Regulation O)"

LENDER = r"(?:your|the)\s+(?:lender|bank|servicer|mortgage\s+co\w*)"
CONTACT = r"(?:contact|call|talk|speak|respond|answer|reply|return|communicate)\w*(?:\s+(?:to|with))?"
ROWS = [
    (r"\b(?:don'?t|do\s+not|never|stop)\s+(?:ever\s+)?" + CONTACT + r"\s+" + LENDER,
     "don't contact your lender",
     "Telling a homeowner not to contact or answer their lender or servicer is banned (Reg O 1015.3(a))."),
    (r"\b(?:no|don'?t|do\s+not)\s+need\s+to\s+" + CONTACT + r"\s+" + LENDER,
     "no need to talk to your lender",
     "Implies the homeowner should not contact their lender or servicer (Reg O 1015.3(a))."),
    (r"\blet\s+(?:us|me)\s+do\s+(?:all\s+)?the\s+talking\s+(?:with|to)\s+" + LENDER,
     "let us do all the talking with your lender",
     "Steers the homeowner away from their own lender or servicer (Reg O 1015.3(a))."),
    (r"\bignore\s+(?:any\s+|all\s+)?(?:the\s+)?(?:calls|letters|mail|messages|notices)?\s*(?:from\s+)?" + LENDER,
     "ignore your lender",
     "Telling a homeowner to ignore their lender or servicer is banned (Reg O 1015.3(a))."),
    (r"\b(?:money[-\s]+back\s+guarantee\w*|full\s+refund\s+if|(?:100\s*%|fully|completely)\s+refundable"
     r"|refund\s+(?:guaranteed|in\s+full\s+if)|or\s+your\s+money\s+back)",
     "money-back guarantee / refundable",
     "Refund promises misrepresent the refund terms of a fee (Reg O 1015.3(b))."),
    (r"\b(?:approved|approval|accepted|closed?|sold|done)\s+(?:with)?in\s+(?:\d+|a|one|two|three|four|five|six|"
     r"\w+ty)\s+(?:days?|weeks?|months?)\b",
     "approved in N days",
     "Promises a timing only the lender controls (Reg O 1015.3(b))."),
    (r"\b(?:with)?in\s+(?:\d+|a|one|two|three|four|five|six|\w+ty)\s+(?:days?|weeks?|months?)\s*[,!-]?\s*"
     r"(?:guaranteed|for\s+sure|promised|or\s+less)",
     "within N weeks, guaranteed",
     "Promises a timing only the lender controls (Reg O 1015.3(b))."),
    (r"\b(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine)\s+(?:out\s+)?of\s+(?:every\s+)?(?:10|ten|\d{2,3})\b"
     r"[^.!?\n]{0,40}?\b(?:approv\w*|accept\w*|success\w*|clos\w*|sav\w*)",
     "9 out of 10 approved",
     "Misrepresents the likelihood of a result only the lender decides (Reg O 1015.3(b))."),
    (r"\b(?:\d{2,3}\s*%\s+(?:success|approval|acceptance)(?:\s+rate)?|(?:success|approval)\s+rate\s+of\s+\d)",
     "N% success rate",
     "Misrepresents the likelihood of a result only the lender decides (Reg O 1015.3(b))."),
    (r"\bon\s+behalf\s+of\s+" + LENDER,
     "on behalf of your lender",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
    (r"\b(?:HUD|FHA|FHFA|Fannie\s+Mae|Freddie\s+Mac|Treasury|government)[-\s]+(?:approved|certified|authorized|"
     r"endorsed|partner)\b",
     "HUD-approved",
     "Misrepresents an affiliation with the government, HUD or a housing agency (Reg O 1015.3(b))."),
    (r"\b(?:from|of|representing)\s+" + LENDER + r"(?:'s)?\s+(?:loss[-\s]+mitigation|hardship|"
     r"workout)\s+(?:department|team|division|office|unit)",
     "from your bank's loss mitigation department",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
    (r"\b(?:we\s+are|we'?re|I\s+am|I'?m)\s+(?:with|from|part\s+of)\s+" + LENDER + r"\b",
     "we're with your lender",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
    (r"\b" + LENDER + r"\s+(?:sent|asked|hired|referred|assigned)\s+(?:us|me)\b",
     "your lender sent us",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
]


def add_phrases(apps, schema_editor):
    ProhibitedPhrase = apps.get_model("compliance", "ProhibitedPhrase")
    for pattern, label, why in ROWS:
        source = SOURCE_A if "1015.3(a)" in why else SOURCE_B
        ProhibitedPhrase.objects.get_or_create(
            label=label, rule="F5",
            defaults={"pattern": pattern, "why": why, "source": source, "verified": True,
                      "effective_from": datetime.date(2000, 1, 1)})


def remove_phrases(apps, schema_editor):
    ProhibitedPhrase = apps.get_model("compliance", "ProhibitedPhrase")
    ProhibitedPhrase.objects.filter(rule="F5", label__in=[label for _, label, _ in ROWS]).delete()


class Migration(migrations.Migration):
    dependencies = [("compliance", "0020_state_cap_windows")]

    operations = [migrations.RunPython(add_phrases, remove_phrases)]
