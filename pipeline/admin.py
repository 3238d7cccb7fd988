"""The pipeline's admin, one module per capability; Django's autodiscovery imports this one."""

from pipeline.deals import admin as deals_admin  # noqa: F401
from pipeline.intake import admin as intake_admin  # noqa: F401
from pipeline.messaging import admin as messaging_admin  # noqa: F401
from pipeline.moving_in import admin as moving_in_admin  # noqa: F401
from pipeline.outreach import admin as outreach_admin  # noqa: F401
from pipeline.plans import admin as plans_admin  # noqa: F401
from pipeline.privacy import admin as privacy_admin  # noqa: F401
from pipeline.reminders import admin as reminders_admin  # noqa: F401
from pipeline.reports import admin as reports_admin  # noqa: F401
from pipeline.seller import admin as seller_admin  # noqa: F401
from pipeline.webhooks import admin as webhooks_admin  # noqa: F401
from pipeline.workspace import admin as workspace_admin  # noqa: F401
