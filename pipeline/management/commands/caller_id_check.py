"""``manage.py caller_id_check``: each number calls may show, and whether it passes D2.

A broker runs it when "Call" is refused with D2: every number of the shared pool and each
agent's own, asked afresh at the provider (held in the account, "A call comes in" set to
our voice line), with why one fails (docs/messaging.md#caller-id). Exit code 1 when any
number fails, so a deployment check can run it too.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pipeline.messaging.caller_id import caller_id_report, voice_url

PASSES = "passes D2: answers on our voice line"


class Command(BaseCommand):
    help = "List each number calls may show and whether it passes D2 (answers on our voice line)."

    def handle(self, *args, **options):
        report = caller_id_report()
        self.stdout.write(f"Voice line every caller ID must point at: {voice_url()}")
        if not report:
            raise CommandError("No number to call from: set TWILIO_NUMBERS or an agent's sending number.")
        for line in report:
            verdict = PASSES if line.passes else line.refusal
            self.stdout.write(f"{line.number}  ({line.used_by})  {verdict}")
        if any(not line.passes for line in report):
            raise CommandError("Calls showing a number that fails D2 are refused until it is fixed.")
