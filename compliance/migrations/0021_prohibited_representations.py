"""Prohibited representations beyond the promise list (F5), as phrase rows.

Regulation O bans telling a homeowner not to contact their lender or servicer, and
misrepresenting the likelihood or timing of a result, an affiliation with the government,
HUD, the lender or servicer, and refund terms (docs/compliance-rules.md#f5). These are
patterns, not single words: each allows "don't / do not / never / shouldn't / don't bother
/ avoid", the ways of reaching a lender ("contact", "call", "talk to", "speak with", "respond
to", "answer") and what the homeowner calls it ("your lender / bank / mortgage lender / loan
servicer / mortgage company"), and needs the negation, so "call your lender to ask for the
short-sale package" is no hit, nor is a negated one ("don't stop talking to your lender"). Versioned
like the F6 rows: counsel narrows or retires one with a dated row, without a release.
The phrase table holds no Spanish rows yet, so neither does F5.
"""

import datetime

from django.db import migrations

SOURCE_A = "12 CFR 1015.3(a) (Regulation O)"
SOURCE_B = "12 CFR 1015.3(b) (Regulation O)"

# "your lender", "the bank", "your mortgage lender", "your loan servicer", "your mortgage company".
# (A row's pattern holds at most 200 characters: the steering rows are several, not one.)
LENDER = r"(?:your|the)\s+(?:mortgage\s+|loan\s+)?(?:lender|bank|servicer|mortgage\s+co\w*)"
CONTACT = r"(?:contact|call|talk|speak|respon|answer|repl|return)\w*(?:\s+to|\s+with)?"
# Not after a negation: "don't stop talking to your lender", "never ignore your lender" urge the opposite.
NOT_NEGATED = r"(?<!n[o']t\s)(?<!nt\s)(?<!never\s)"
# Whose department: "your bank's", "the mortgage lender's".
LENDERS = r"(?:your|the)\s+[\w\s]{2,25}?'s"
LOSS_MITIGATION = r"\s+(?:loss[-\s]+mitigation|hardship|workout)\s+(?:department|team|division|office|unit)"
STEERING = "Telling a homeowner not to contact or answer their lender or servicer is banned (Reg O 1015.3(a))."
ROWS = [
    (r"\b(?:don'?t|do\s+not|never)\s+(?:ever\s+)?" + CONTACT + r"\s+" + LENDER,
     "don't contact your lender", STEERING),
    (r"\b" + NOT_NEGATED + r"stop\s+" + CONTACT + r"\s+" + LENDER,
     "stop calling your lender", STEERING),
    (r"\bshould(?:\s*n'?t|\s+not)\s+(?:ever\s+)?" + CONTACT + r"\s+" + LENDER,
     "you shouldn't talk to your lender", STEERING),
    (r"\bbother\s+" + CONTACT + r"\s+" + LENDER,
     "don't bother calling your lender", STEERING),
    (r"\b" + NOT_NEGATED + r"avoid\s+(?:\w+ing\s+(?:to\s+|with\s+)?)?" + LENDER,
     "avoid your lender", STEERING),
    (r"\b(?:no|don'?t|do\s+not)\s+need\s+to\s+" + CONTACT + r"\s+" + LENDER,
     "no need to talk to your lender",
     "Implies the homeowner should not contact their lender or servicer (Reg O 1015.3(a))."),
    (r"\blet\s+(?:us|me)\s+do\s+(?:all\s+)?the\s+talking\s+(?:with|to)\s+" + LENDER,
     "let us do all the talking with your lender",
     "Steers the homeowner away from their own lender or servicer (Reg O 1015.3(a))."),
    (r"\b" + NOT_NEGATED + r"ignore\s+(?:\w+\s+){0,3}?" + LENDER,
     "ignore your lender",
     "Telling a homeowner to ignore their lender or servicer is banned (Reg O 1015.3(a))."),
    (r"\b(?:money[-\s]+back\s+guarantee\w*|full\s+refund\s+if|(?:100\s*%|fully|completely)\s+refundable"
     r"|refund\s+(?:guaranteed|in\s+full\s+if)|or\s+your\s+money\s+back)",
     "money-back guarantee / refundable",
     "Refund promises misrepresent the refund terms of a fee (Reg O 1015.3(b))."),
    # Not "accepted" or "done": "offers must be accepted within 3 days" is the homeowner's deadline.
    (r"\b(?:approved|approval|closed?|sold)\s+(?:with)?in\s+(?:\d+|a|one|two|three|four|five|six|"
     r"\w+ty)\s+(?:days?|weeks?|months?)\b",
     "approved in N days",
     "Promises a timing only the lender controls (Reg O 1015.3(b))."),
    (r"\b(?:with)?in\s+(?:\d+|a|one|two|three|four|five|six|\w+ty)\s+(?:days?|weeks?|months?)\s*[,!-]?\s*"
     r"(?:guaranteed|for\s+sure|promised|or\s+less)",
     "within N weeks, guaranteed",
     "Promises a timing only the lender controls (Reg O 1015.3(b))."),
    # Approval or success only: "2 of 10 listings closed" is a record, not odds.
    (r"\b(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine)\s+(?:out\s+)?of\s+(?:every\s+)?(?:10|ten|\d{2,3})\b"
     r"[^.!?\n]{0,40}?\b(?:approv\w*|success\w*)",
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
    # Who is speaking, not where a call may come from: "a call from your lender's loss
    # mitigation department" is no claim.
    (r"\b(?:we\s+are|we'?re|I\s+am|I'?m)\s+(?:with|from|in|part\s+of)\s+" + LENDERS + LOSS_MITIGATION,
     "from your bank's loss mitigation department",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
    (r"\b(?:(?:calling|writing)\s+from|representing)\s+" + LENDERS + LOSS_MITIGATION,
     "calling from your bank's loss mitigation department",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
    (r"\bthis\s+is\s+(?!an?\s|the\s)\w+(?:\s+\w+)?\s+(?:from|with)\s+" + LENDERS + LOSS_MITIGATION,
     "this is Sam from your bank's loss mitigation department",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
    # The lender itself, not something of it ("I'm from the bank's neighborhood").
    (r"\b(?:we\s+are|we'?re|I\s+am|I'?m)\s+(?:with|from|part\s+of)\s+" + LENDER + r"\b(?!')",
     "we're with your lender",
     "Misrepresents an affiliation with the lender or servicer (Reg O 1015.3(b))."),
    # Sent to do the homeowner's business, not sent a document ("your lender sent me the payoff").
    (r"\b" + LENDER + r"\s+(?:sent|asked|hired|referred|assigned)\s+(?:us|me)\s+to\s+"
     r"(?:help|assist|contact|reach|represent|handle|you\b)",
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
