from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, their roles and role profiles, teams, and the brokerage's own details."""

    name = "leadcrm.accounts"
    label = "accounts"
    verbose_name = "Users, teams and brokerage"

    def ready(self):
        from . import middleware, throttle  # noqa: F401  (connect the sign-in signals)
        from .access import _connect

        _connect()  # forgets a user's cached permissions when they change
