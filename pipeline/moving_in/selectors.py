"""Reads of CRM imports: who may open which, and an import's per-row report."""

from __future__ import annotations

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from pipeline.models import CrmImport, CrmImportRow


def crm_imports_visible_to(user: User):
    """The imports a user may open: every one for a broker (only brokers move a CRM in)."""
    if user is None or not user.is_authenticated or not user.has_perm(Perm.MOVE_IN):
        return CrmImport.objects.none()
    return CrmImport.objects.select_related("created_by")


def crm_import_rows(*, job: CrmImport):
    """The import's report, in file and line order, with each row's lead for its link."""
    return CrmImportRow.objects.filter(job=job).select_related("lead__property").order_by("file", "row_number", "pk")
