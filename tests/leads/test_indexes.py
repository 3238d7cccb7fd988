"""No table an import writes keeps an index that another index on it already covers: each
one costs every imported row an index entry (and the disk its pages), and serves nothing."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

IMPORTED_TABLES = ["leads_property", "leads_lead", "leads_contact", "leads_phone", "leads_email", "leads_lien",
                   "leads_listmembership", "leads_foreclosurerecord", "leads_leadassignment", "pipeline_followup"]

# A plain single-column index whose column leads a wider index on the same table, neither
# of them partial: the wider one answers every lookup the narrow one would.
COVERED = """
SELECT narrow.indexrelid::regclass::text, wide.indexrelid::regclass::text
FROM pg_index narrow
JOIN pg_index wide ON wide.indrelid = narrow.indrelid AND wide.indexrelid <> narrow.indexrelid
JOIN pg_class t ON t.oid = narrow.indrelid
JOIN pg_opclass op ON op.oid = narrow.indclass[0]
WHERE t.relname = ANY(%s)
  AND narrow.indnatts = 1 AND NOT narrow.indisunique AND narrow.indpred IS NULL
  AND op.opcname NOT LIKE '%%pattern_ops'  -- LIKE 'prefix%%' needs its own operator class
  AND wide.indpred IS NULL AND wide.indnkeyatts > 1 AND wide.indkey[0] = narrow.indkey[0]
ORDER BY 1
"""


def test_no_imported_table_keeps_an_index_a_wider_one_covers():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(COVERED, [IMPORTED_TABLES])
        assert cursor.fetchall() == []


def test_the_foreign_keys_whose_index_went_are_still_constraints():
    """Only the index was dropped (see the 0017 migrations): deleting a house's lead still
    cascades, and a row pointing nowhere is still refused by the database."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT conrelid::regclass::text, a.attname FROM pg_constraint c
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                          WHERE c.contype = 'f' AND conrelid::regclass::text = ANY(%s)""", [IMPORTED_TABLES])
        keys = set(cursor.fetchall())
    for table, column in [("leads_lead", "assigned_agent_id"), ("leads_lead", "team_id"),
                          ("leads_phone", "contact_id"), ("leads_email", "contact_id"), ("leads_lien", "lead_id"),
                          ("leads_listmembership", "lead_id"), ("leads_foreclosurerecord", "lead_id"),
                          ("leads_leadassignment", "lead_id"), ("pipeline_followup", "lead_id"),
                          ("pipeline_followup", "assignee_id")]:
        assert (table, column) in keys
