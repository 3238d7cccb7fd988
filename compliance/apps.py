from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Do Not Call registries, opt-outs, role disclosure and the one outreach gate."""

    name = "compliance"
    verbose_name = "Compliance"

    def ready(self):
        from . import receivers  # noqa: F401 - connects compliance's receivers of leads' signals
