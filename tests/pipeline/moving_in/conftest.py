"""The sample exports (tests/fixtures/crm/): a Follow Up Boss people file with its notes and
tasks, a Podio leads app's items with their comments and tasks; fictional people, Tulsa
houses, 918 numbers (the area the test registry covers)."""

import io
import zipfile
from pathlib import Path

import pytest

from compliance.services import dnc_numbers_add

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "crm"
FUB_DNC_NUMBER = "9185550131"  # Keisha Brown's home phone, Phone 3 in the sample
PODIO_DNC_NUMBER = "9185550212"  # Walter Greene's home phone


def export_zip(folder: str) -> bytes:
    """The sample folder's files in one ZIP, as an export of several files comes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((SAMPLES / folder).iterdir()):
            archive.write(path, arcname=f"{folder}-export/{path.name}")
    return buffer.getvalue()


@pytest.fixture
def fub_zip():
    return export_zip("followupboss")


@pytest.fixture
def podio_zip():
    return export_zip("podio")


@pytest.fixture
def crm_world(broker, agent, other_agent, national_registry, brokerage):
    """The users the samples name: Ana Torres (by name), Ollie Other (by email); Jo Smith is
    nobody here. Two numbers of the samples are on the national registry."""
    other_agent.email = "ollie.other@sunbelt.example"
    other_agent.save(update_fields=["email"])
    dnc_numbers_add(source=national_registry, numbers=[FUB_DNC_NUMBER, PODIO_DNC_NUMBER],
                    as_of=national_registry.data_as_of)
    return {"broker": broker, "agent": agent, "other_agent": other_agent}
