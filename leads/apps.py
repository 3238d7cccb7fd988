from django.apps import AppConfig


class LeadsConfig(AppConfig):
    """Leads, properties, owners, phones, hardship records, liens and the lists they came from."""

    name = "leads"
    verbose_name = "Leads"
