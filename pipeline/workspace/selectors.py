"""The lead page's reads: its timeline, which the API reads too, lives in ``pipeline.timeline``."""

from pipeline.timeline import TIMELINE_LIMIT, TimelineEvent, lead_activity

__all__ = ["TIMELINE_LIMIT", "TimelineEvent", "lead_activity"]
