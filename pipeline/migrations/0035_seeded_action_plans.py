"""The three short-sale plans LeadCRM ships, shared with the whole brokerage
(docs/action-plans.md).

The words are written out here, not imported: a migration must read the same whatever
the code says later. ``pipeline.plans.seeds`` reads ``PLANS`` from this module (the plans
as shipped) and installs them again with ``install`` where none are found. Written in
plain words that promise nothing a lender decides (F6: no approval, no saved home, no
timeline); every text names the agent and the brokerage and every email says who writes
and in what role (D3).
"""

from datetime import time

from django.db import migrations

TEXT_HOURS = (time(10, 0), time(18, 0))
EMAIL_HOURS = (time(9, 0), time(17, 0))
OFFICE_HOURS = (time(9, 0), time(17, 0))
STOP_LINE = "Reply STOP to stop texts."


def _text(days, body, *, anchor="start"):
    return {"kind": "text", "anchor": anchor, "delay_days": days, "window": TEXT_HOURS, "weekdays_only": False,
            "subject": "", "body": f"{body} {STOP_LINE}", "task_kind": ""}


def _email(days, subject, body, *, anchor="start"):
    return {"kind": "email", "anchor": anchor, "delay_days": days, "window": EMAIL_HOURS, "weekdays_only": False,
            "subject": subject, "body": body, "task_kind": ""}


def _letter(days, body, *, anchor="start"):
    return {"kind": "letter", "anchor": anchor, "delay_days": days, "window": OFFICE_HOURS, "weekdays_only": True,
            "subject": "", "body": body, "task_kind": ""}


def _task(days, task_kind, title, notes="", *, anchor="start"):
    return {"kind": "task", "anchor": anchor, "delay_days": days, "window": OFFICE_HOURS, "weekdays_only": True,
            "subject": title, "body": notes, "task_kind": task_kind}


NURTURE = "not_now_nurture"
BEFORE_AUCTION = "before_auction"
DOCUMENTS_NEEDED = "documents_needed"

PLANS = [
    {
        "seeded": NURTURE,
        "name": "Not now: long-term nurture",
        "description": (
            "For homeowners who said “not now”: a light touch over about a year, so they know whom to ask "
            "when the time is right. Pauses as soon as they answer."),
        "stages": ["contact", "qualify"],
        "key_date": "",
        "steps": [
            _text(0, "Hi [First Name], it's [Agent Name] with [Brokerage]. Thank you for talking with me. No "
                     "pressure at all: if anything changes with [Property Address], I'm glad to answer questions."),
            _email(14, "Here if you have questions about [Property Address]",
                   "Hi [First Name],\n\n[Role Disclosure]\n\nYou told me now is not the right time, and I respect "
                   "that. I'm writing once in a while so you have my details if your plans change. If it helps, I "
                   "can explain how a short sale works, what it asks of you, and what other options homeowners "
                   "often weigh. Your lender makes its own decisions, and I can't predict them, but I can help you "
                   "understand the steps.\n\nYou can reach me at [Agent Phone] or [Agent Email].\n\n[Agent Name]\n"
                   "[Brokerage]"),
            _task(30, "call", "Check in with [First Name] about [Property Address]",
                  "A short, friendly check-in. Ask whether anything has changed; if they would rather not hear "
                  "from us, say thank you and record it."),
            _letter(60, "Dear [Owner Name],\n\n[Role Disclosure]\n\nA few weeks ago we talked about your home at "
                        "[Property Address]. I'm writing only so you have my contact details on paper. If your "
                        "situation changes, I'm happy to walk you through your options, including a short sale, "
                        "and what each would involve. Any decision about your loan is your lender's, and I can't "
                        "promise an outcome.\n\n[Agent Name]\n[Brokerage]\n[Agent Phone]\n[Brokerage Address]"),
            _email(90, "Checking in about [Property Address]",
                   "Hi [First Name],\n\n[Role Disclosure]\n\nJust checking in. If you have questions about your "
                   "home or your mortgage situation, I'm glad to listen and explain what I know. There's no "
                   "obligation, and if you'd rather not hear from me, just reply and say so.\n\n[Agent Name]\n"
                   "[Agent Phone]"),
            _text(120, "Hi [First Name], [Agent Name] with [Brokerage] checking in. If you'd like to talk about "
                       "[Property Address], I'm here."),
            _task(180, "call", "Six-month check-in with [First Name]",
                  "Ask how they are doing and whether their plans for the home have changed."),
            _email(270, "Still here if you need me",
                   "Hi [First Name],\n\n[Role Disclosure]\n\nIt's been a while since we spoke. If anything about "
                   "[Property Address] has changed, I'm happy to talk it through, at your pace. Your lender "
                   "decides on any short sale; my part is to explain the process and help you prepare.\n\n"
                   "[Agent Name]\n[Agent Phone]\n[Agent Email]"),
            _task(365, "call", "One-year check-in with [First Name]",
                  "A year since the plan started. Ask whether they would like to keep hearing from us; end the "
                  "plan if not."),
        ],
    },
    {
        "seeded": BEFORE_AUCTION,
        "name": "Before the auction",
        "description": (
            "Counts back from the auction date on the lead: calls, a letter, emails and texts that explain the "
            "options calmly and say that the lender decides, and a reminder to ask the lender about postponing "
            "the sale."),
        "stages": [],
        "key_date": "auction",
        "steps": [
            _task(45, "call", "Call [First Name]: the auction date is about six weeks away",
                  "Explain the options calmly (a short sale, talking to the lender, other help). Do not predict "
                  "what the lender will do.", anchor="key_date"),
            _letter(30, "Dear [Owner Name],\n\n[Role Disclosure]\n\nPublic records show a sale date set for "
                        "your home at [Property Address]. Homeowners in this position often have more than one "
                        "option: talking to their lender, a short sale, or other programs their lender offers. "
                        "Only your lender can decide whether any of them fits, and I can't promise a result. I can "
                        "explain how a short sale works and what it would ask of you.\n\n[Agent Name]\n"
                        "[Brokerage]\n[Agent Phone]\n[Brokerage Address]", anchor="key_date"),
            _email(21, "About the sale date for [Property Address]",
                   "Hi [First Name],\n\n[Role Disclosure]\n\nI'm writing because public records list a sale date "
                   "for [Property Address]. You may already be talking with your lender, and that is the right "
                   "first step. If a short sale is something you want to understand, I can explain the process "
                   "and what documents a lender usually asks for. Your lender decides whether to accept a short "
                   "sale, and on what terms.\n\nYou can reach me at [Agent Phone].\n\n[Agent Name]\n[Brokerage]",
                   anchor="key_date"),
            _task(14, "lender", "Ask the lender whether the sale date can be postponed",
                  "If the homeowner has asked us to act for them and a listing is in place, ask the servicer "
                  "whether the sale date can be postponed while the short sale is reviewed. Note their answer.",
                  anchor="key_date"),
            _text(14, "Hi [First Name], it's [Agent Name] with [Brokerage]. I know the sale date for [Property "
                      "Address] is getting close. If you'd like to go over your options, I'm here to talk.",
                  anchor="key_date"),
            _email(7, "If you'd like to talk this week",
                   "Hi [First Name],\n\n[Role Disclosure]\n\nThe sale date for [Property Address] is about a week "
                   "away. If you want to talk through what a short sale involves, or what to ask your lender, I "
                   "have time this week. The decision is yours and your lender's.\n\n[Agent Name]\n[Agent Phone]",
                   anchor="key_date"),
            _task(3, "call", "Call [First Name]: the sale date is days away",
                  "A calm, respectful call. Listen first. Do not promise anything about the sale date or the "
                  "lender's decision.", anchor="key_date"),
        ],
    },
    {
        "seeded": DOCUMENTS_NEEDED,
        "name": "Documents still needed",
        "description": (
            "For qualified sellers with documents still to send: reminders every few days that link their "
            "status page, which lists what is missing, and a call after a week."),
        "stages": ["qualify"],
        "key_date": "",
        "steps": [
            _email(0, "What's still needed for your short sale package",
                   "Hi [First Name],\n\n[Role Disclosure]\n\nThank you for the documents you have sent so far. "
                   "Your lender asks for a complete package before it reviews a short sale, so a few items are "
                   "still needed. Your status page lists them, and you can upload them there:\n\n"
                   "[Status Page Link]\n\nIf anything is hard to find, tell me and we'll work it out together.\n\n"
                   "[Agent Name]\n[Agent Phone]"),
            _text(3, "Hi [First Name], [Agent Name] with [Brokerage]. A few documents are still needed for your "
                     "lender. Your status page lists them: [Status Page Link]"),
            _task(7, "call", "Call [First Name] about the documents still needed",
                  "Go through the status page's list together and offer help with anything hard to get."),
            _email(10, "A reminder: documents for your lender",
                   "Hi [First Name],\n\n[Role Disclosure]\n\nA quick reminder that your lender is still waiting "
                   "on a few documents before it can review your file. You'll find the list, and a place to "
                   "upload them, on your status page:\n\n[Status Page Link]\n\nThank you,\n[Agent Name]\n"
                   "[Agent Phone]"),
            _text(14, "Hi [First Name], it's [Agent Name] with [Brokerage]. Checking on the documents for your "
                      "lender; the list is here: [Status Page Link]"),
        ],
    },
]


def install(ActionPlan, PlanStep, plans=PLANS) -> int:
    """Create each plan whose ``seeded`` key has no plan yet (deleted ones count: a broker
    who deleted a seeded plan meant it). Returns how many were created."""
    have = set(ActionPlan.objects.filter(seeded__in=[plan["seeded"] for plan in plans]).values_list(
        "seeded", flat=True))
    created = 0
    for data in plans:
        if data["seeded"] in have:
            continue
        plan = ActionPlan.objects.create(
            name=data["name"], description=data["description"], owner=None, stages=data["stages"],
            key_date=data["key_date"], seeded=data["seeded"])
        PlanStep.objects.bulk_create([
            PlanStep(plan=plan, position=position, kind=step["kind"], task_kind=step["task_kind"],
                     anchor=step["anchor"], delay_days=step["delay_days"], delay_hours=0,
                     window_start=step["window"][0], window_end=step["window"][1],
                     weekdays_only=step["weekdays_only"], subject=step["subject"], body=step["body"])
            for position, step in enumerate(data["steps"])])
        created += 1
    return created


def forwards(apps, schema_editor):
    install(apps.get_model("pipeline", "ActionPlan"), apps.get_model("pipeline", "PlanStep"))


def backwards(apps, schema_editor):
    # Only plans nobody was ever put in: an enrollment keeps its plan (PROTECT) for the record.
    ActionPlan = apps.get_model("pipeline", "ActionPlan")
    ActionPlan.objects.filter(seeded__in=[plan["seeded"] for plan in PLANS], enrollments__isnull=True).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("pipeline", "0034_action_plans"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
