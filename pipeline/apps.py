from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """The five funnel stages, follow-ups and the outreach log."""

    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self):
        from . import receivers  # noqa: F401 - connects pipeline's receivers of the lower apps' signals
        from .messaging import email  # noqa: F401 - connects the email service's reports and replies
        from .plans import receivers as plan_receivers  # noqa: F401 - plans pause on replies and stage moves
        from .webhooks import receivers as webhook_receivers  # noqa: F401 - events to brokers' webhook endpoints
