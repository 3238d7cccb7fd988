"""Compliance's side of what leads announces (its signals), connected in
``ComplianceConfig.ready``. Each runs inside the sender's transaction."""

from __future__ import annotations

from django.dispatch import receiver

from leads.signals import import_written, phones_changed

from .services import new_phones_cover, phones_reflag


@receiver(import_written, dispatch_uid="compliance-flag-imported-phones")
def imported_phones_flag(*, phones, **kwargs) -> None:
    """An imported list's phones flagged against the registries held and the internal
    list, before the import counts how many are on one."""
    phones_reflag(phones=phones)


@receiver(phones_changed, dispatch_uid="compliance-flag-edited-phones")
def edited_phones_flag(*, phones, **kwargs) -> None:
    """A number added or corrected by hand is flagged before the lead page shows it; one added
    to an owner who asked us to stop is covered by their stop first (B1)."""
    new_phones_cover(phones=phones)
    phones_reflag(phones=phones)
