"""The report rollups: the logs counted by span of the day."""

from django.conf import settings
from django.db import models

from compliance.models import Verdict

# Report rollups ----------------------------------------------------------------------------
# The broker's reports read a year of logs of millions of rows; these hold them counted by
# span of the day, so a report reads thousands of rows instead. The spans of a day (UTC)
# are 00:00 to 04:00, each hour from 04:00 to 10:00, when midnight comes to the US zones
# (Puerto Rico's at 04:00, Hawaii's at 10:00), and 10:00 to midnight: a report's days and
# weeks, in UTC or any zone a user may choose (US_TIME_ZONES), start on a span's edge, so
# the counts split exactly into them, and an agent's calling day is two rows, not
# thirteen. On PostgreSQL a trigger on each
# log adds every row as it is inserted, in the same transaction (migration 0014): the
# counts are always exact, and nothing in the app writes them.
# ``pipeline_report_rollups_rebuild()`` recounts them from the logs (after a bulk load
# that skipped triggers). Elsewhere (the SQLite fallback), and for a period whose edges
# are not a span's, the reports count the logs themselves.


class OutreachCount(models.Model):
    """Outreach attempts logged per agent and span of the day, every entry counted,
    corrected or not: the agent-activity report takes the corrected entries off itself."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts = models.DateTimeField(help_text="When the span of the day counted starts (the comment above the rollups in pipeline.models says which spans).")
    attempts = models.PositiveIntegerField(default=0)
    # The outcomes in REACHED_OUTCOMES, and appointments alone (the trigger names them).
    talks = models.PositiveIntegerField(default=0)
    appointments = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["starts", "agent"], name="outreachcount_once")]

    def __str__(self) -> str:
        return f"{self.agent_id} from {self.starts:%Y-%m-%d %H}:00: {self.attempts}"


class CheckCount(models.Model):
    """Compliance checks made per span of the day, by verdict and the rules that fired."""

    starts = models.DateTimeField(help_text="When the span of the day counted starts (the comment above the rollups in pipeline.models says which spans).")
    verdict = models.CharField(max_length=6, choices=Verdict.choices)
    rule_ids = models.JSONField(default=list)
    checks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["starts", "verdict", "rule_ids"], name="checkcount_once")]

    def __str__(self) -> str:
        return f"{self.starts:%Y-%m-%d %H}:00 {self.verdict} {self.rule_ids}: {self.checks}"
