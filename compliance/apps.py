from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Do Not Call registries, opt-outs, role disclosure and the one outreach gate."""

    name = "compliance"
    verbose_name = "Compliance"
