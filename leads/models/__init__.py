"""The leads app's models, one module per subject; every name is importable from here."""

from .imports import (
    IMPORT_STALLED_AFTER,
    ColumnMapping,
    ImportJob,
    ImportRowIssue,
    ImportStatus,
)
from .leads import (
    FUNNEL_STAGES,
    OUTCOME_STAGES,
    DeadReason,
    Lead,
    LeadSource,
    LeadType,
    Stage,
)
from .liens import (
    ForeclosureRecord,
    ForeclosureRecordType,
    Lien,
    LienType,
)
from .lists import (
    LeadList,
    ListDncCount,
    ListMembership,
)
from .merges import DuplicateDismissal, LeadMerge
from .people import (
    Contact,
    ContactSource,
    Email,
    EmailQuerySet,
    EmailStatus,
    HardshipCategory,
    HardshipRecord,
    Phone,
    PhoneQuerySet,
    PhoneStatus,
    PhoneType,
    e164_validator,
)
from .properties import (
    Property,
    PropertyQuerySet,
    PropertyType,
    normalize_apn,
    zip4_validator,
    zip_validator,
)
from .routing import (
    LeadAssignment,
    RoutingMethod,
    RoutingRule,
    RoutingTarget,
)
from .sources import LeadSourceKey, source_key_new
from .tags import (
    TAG_NAME_MAX_LENGTH,
    LeadTag,
    SavedSearch,
    Tag,
    TagColour,
)

__all__ = [
    "e164_validator",
    "zip_validator",
    "zip4_validator",
    "normalize_apn",
    "Stage",
    "FUNNEL_STAGES",
    "OUTCOME_STAGES",
    "DeadReason",
    "LeadType",
    "LeadSource",
    "PropertyType",
    "PropertyQuerySet",
    "Property",
    "LeadList",
    "Lead",
    "ListMembership",
    "ListDncCount",
    "LeadMerge",
    "DuplicateDismissal",
    "Contact",
    "PhoneType",
    "PhoneStatus",
    "ContactSource",
    "PhoneQuerySet",
    "Phone",
    "EmailStatus",
    "EmailQuerySet",
    "Email",
    "HardshipCategory",
    "HardshipRecord",
    "LienType",
    "Lien",
    "ForeclosureRecordType",
    "ForeclosureRecord",
    "ImportStatus",
    "ColumnMapping",
    "IMPORT_STALLED_AFTER",
    "ImportJob",
    "ImportRowIssue",
    "RoutingMethod",
    "RoutingTarget",
    "RoutingRule",
    "LeadAssignment",
    "TAG_NAME_MAX_LENGTH",
    "TagColour",
    "Tag",
    "LeadTag",
    "SavedSearch",
    "LeadSourceKey",
    "source_key_new",
]
