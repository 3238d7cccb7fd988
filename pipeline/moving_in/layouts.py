"""The export layouts of Follow Up Boss and Podio, read into people, notes and tasks.

A header is compared loosely (case, spaces and punctuation left out: ``Phone 1 - Type``,
``phone1type`` and ``Phone 1 Type`` are one), so a column renamed by a spreadsheet on
its way still reads. Which columns each product writes, and where that comes from, is in
docs/moving-in.md#the-files. A file is one table (CSV or XLSX) of people, or a ZIP of the
export's tables: people, and optionally notes (Podio: comments) and tasks.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from leadcrm.shared.uploads import open_binary
from leadcrm.shared.zips import UnzippedTooLarge, bounded_read, zip_check
from leads.imports.reading import NotATable, open_table

from ..models import CrmSystem

PEOPLE, NOTES, TASKS = "people", "notes", "tasks"
UNZIPPED_LIMIT = 400_000_000

NOT_AN_EXPORT = ("{name} is not a {system} export: its first row should name columns like {expected}. "
                 "Upload the people export as it came from {system} (CSV or Excel), or a ZIP of its files.")
LOOKS_LIKE_OTHER = ("{name} looks like a {other} export, not a {system} one (it has {clue}). "
                    "Choose {other} as the CRM it comes from.")
ZIP_WITHOUT_PEOPLE = ("{name} holds no people file: put the people export in the ZIP "
                      "(a file whose name starts with “people”, or the only table in it).")
ZIP_TOO_LARGE = "{name} unpacks to more than the import limit: split the export."
ZIP_TOO_TIGHT = "{name} is packed too tightly to be an export (it could be a zip bomb): it was not opened."
ZIP_DAMAGED = "{name} is a damaged ZIP file: download the export again."


def squash(header: str) -> str:
    """``'Phone 1 - Type'`` -> ``'phone1type'``: the header as compared."""
    return re.sub(r"[^a-z0-9]", "", (header or "").lower())


@dataclass
class PhoneIn:
    raw: str
    kind: str = ""  # as the export names it: mobile, home, work ...
    column: str = ""


@dataclass
class AddressIn:
    street: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    kind: str = ""

    @property
    def given(self) -> bool:
        return bool(self.street.strip())


@dataclass
class PersonIn:
    row_number: int
    external_id: str
    first_name: str = ""
    last_name: str = ""
    stage: str = ""
    source: str = ""
    agent: str = ""  # a name or an email, as the export writes who it is assigned to
    phones: list[PhoneIn] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    addresses: list[AddressIn] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    created: datetime | None = None
    updated: datetime | None = None  # when the other CRM last changed the person (an opt-out's date)
    background: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass
class NoteIn:
    row_number: int
    external_id: str
    person_id: str
    body: str
    created: datetime | None = None
    author: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class TaskIn:
    row_number: int
    external_id: str
    person_id: str
    title: str
    kind: str = ""
    due: datetime | None = None
    assignee: str = ""
    completed: bool = False
    completed_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Export:
    people: list[PersonIn]
    notes: list[NoteIn]
    tasks: list[TaskIn]


class NotAnExport(ValueError):
    pass


# Dates ---------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%m/%d/%Y %I:%M %p",
                 "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y", "%b %d, %Y",
                 "%B %d, %Y", "%d.%m.%Y %H:%M", "%d.%m.%Y")
BAD_DATE = "{column} {value!r} is not a date we can read (e.g. 2024-03-18 or 03/18/2024 2:30 PM): left out."


def read_when(value: str, zone: ZoneInfo) -> datetime | None:
    """A date or time as exports write it; a naive one is in ``zone`` (the importer's). None
    when empty; ValueError when unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            raise ValueError(value) from None
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, time(9))
    if parsed.tzinfo is None:
        if (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0) and len(value) <= 10:
            parsed = parsed.replace(hour=9)  # a day alone: due that morning, not at midnight
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _when(row: dict, column: str | None, zone: ZoneInfo, errors: list[str]) -> datetime | None:
    if not column:
        return None
    try:
        return read_when(row.get(column, ""), zone)
    except ValueError:
        errors.append(BAD_DATE.format(column=column, value=row.get(column, "")))
        return None


def _yes(value: str) -> bool:
    return (value or "").strip().lower() in {"yes", "y", "true", "1", "completed", "complete", "done", "closed"}


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]", value or "") if part.strip()]


class _Columns:
    """The file's headers found by their squashed names."""

    def __init__(self, headers: list[str]):
        self.headers = headers
        self.by_squash = {}
        for header in headers:
            self.by_squash.setdefault(squash(header), header)

    def find(self, *names: str) -> str | None:
        for name in names:
            header = self.by_squash.get(squash(name))
            if header is not None:
                return header
        return None

    def numbered(self, pattern: str) -> list[tuple[int, str]]:
        """Headers like ``Phone 1``, ``Phone 2`` (``pattern`` a regex on the squashed name
        with one group, the number), in number order."""
        found = []
        for squashed, header in self.by_squash.items():
            match = re.fullmatch(pattern, squashed)
            if match:
                found.append((int(match.group(1)), header))
        return sorted(found)


def _cell(row: dict, column: str | None) -> str:
    return " ".join((row.get(column) or "").split()) if column else ""


def _text(row: dict, column: str | None) -> str:
    return (row.get(column) or "").strip() if column else ""


# Follow Up Boss ------------------------------------------------------------------------

FUB_EXPECTED = "First Name, Last Name, Stage, Assigned To, Phone 1, Email 1"
# Columns only the other product writes: a file carrying them was uploaded under the wrong one.
FUB_CLUES = ("Phone 1", "Email 1", "Assigned To", "Address 1 - Street")
PODIO_CLUES = ("Created on", "Created by", "Item ID", "App Item ID")


@dataclass
class _PersonColumns:
    """Where a person's own fields are in a product's people file (each product finds them
    under its own names; phones, emails and addresses are laid out its own way)."""

    id: str | None
    name: str | None  # the whole name, read when there is no first or last name
    first: str | None
    last: str | None
    stage: str | None
    source: str | None
    agent: str | None
    tags: str | None
    created: str | None
    updated: str | None
    background: str | None

    def person(self, line: int, row: dict, zone) -> PersonIn:
        errors: list[str] = []
        first, last = _cell(row, self.first), _cell(row, self.last)
        if not (first or last) and self.name:
            first, _, last = _cell(row, self.name).partition(" ")
        return PersonIn(
            row_number=line, external_id=_cell(row, self.id), first_name=first, last_name=last,
            stage=_cell(row, self.stage), source=_cell(row, self.source), agent=_cell(row, self.agent),
            tags=_split_list(row.get(self.tags, "") if self.tags else ""),
            created=_when(row, self.created, zone, errors), updated=_when(row, self.updated, zone, errors),
            background=_text(row, self.background), errors=errors)


def _fub_people(table, zone) -> list[PersonIn]:
    cols = _Columns(table.headers)
    own = _PersonColumns(
        id=cols.find("ID", "Person ID", "FUB ID"), name=cols.find("Name"), first=cols.find("First Name"),
        last=cols.find("Last Name"), stage=cols.find("Stage"), source=cols.find("Source", "Lead Source"),
        agent=cols.find("Assigned To", "Agent", "Assigned Agent"), tags=cols.find("Tags"),
        created=cols.find("Created", "Created At", "Date Added"),
        updated=cols.find("Updated", "Updated At", "Last Updated", "Last Modified"),
        background=cols.find("Background", "Notes"))
    phones = cols.numbered(r"phone(\d+)")
    emails = cols.numbered(r"email(\d+)")
    streets = cols.numbered(r"address(\d+)street")
    people = []
    for line, row in table.rows():
        person = own.person(line, row, zone)
        for number, column in phones:
            raw = _cell(row, column)
            if raw:
                person.phones.append(PhoneIn(raw=raw, kind=_cell(row, cols.find(f"Phone {number} - Type")),
                                             column=column))
        for _, column in emails:
            if _cell(row, column):
                person.emails.append(_cell(row, column))
        for number, column in streets:
            person.addresses.append(AddressIn(
                street=_cell(row, column), city=_cell(row, cols.find(f"Address {number} - City")),
                state=_cell(row, cols.find(f"Address {number} - State")),
                zip_code=_cell(row, cols.find(f"Address {number} - Zip", f"Address {number} - Postal Code")),
                kind=_cell(row, cols.find(f"Address {number} - Type"))))
        people.append(person)
    return people


def _fub_notes(table, zone) -> list[NoteIn]:
    cols = _Columns(table.headers)
    c_id, c_person = cols.find("ID", "Note ID"), cols.find("Person ID", "personId")
    c_body, c_subject = cols.find("Body", "Note"), cols.find("Subject")
    c_created, c_author = cols.find("Created", "Created At"), cols.find("Created By", "createdBy")
    notes = []
    for line, row in table.rows():
        errors: list[str] = []
        body = _text(row, c_body)
        subject = _cell(row, c_subject)
        if subject and body:
            body = f"{subject}\n\n{body}"
        notes.append(NoteIn(row_number=line, external_id=_cell(row, c_id), person_id=_cell(row, c_person),
                            body=body or subject, created=_when(row, c_created, zone, errors),
                            author=_cell(row, c_author), errors=errors))
    return notes


def _fub_tasks(table, zone) -> list[TaskIn]:
    cols = _Columns(table.headers)
    c_id, c_person = cols.find("ID", "Task ID"), cols.find("Person ID", "personId")
    c_name, c_type = cols.find("Name", "Task", "Title"), cols.find("Type")
    c_due = cols.find("Due Date Time", "dueDateTime", "Due Date", "dueDate", "Due")
    c_assignee = cols.find("Assigned To", "AssignedTo", "Assigned User")
    c_done, c_done_at = cols.find("Is Completed", "isCompleted", "Completed"), cols.find("Completed Date",
                                                                                         "Completed At")
    tasks = []
    for line, row in table.rows():
        errors: list[str] = []
        tasks.append(TaskIn(
            row_number=line, external_id=_cell(row, c_id), person_id=_cell(row, c_person),
            title=_cell(row, c_name), kind=_cell(row, c_type), due=_when(row, c_due, zone, errors),
            assignee=_cell(row, c_assignee), completed=_yes(row.get(c_done, "") if c_done else ""),
            completed_at=_when(row, c_done_at, zone, errors), errors=errors))
    return tasks


# Podio ---------------------------------------------------------------------------------

PODIO_EXPECTED = "a name field, a property address field, Created on, Item ID"
_PODIO_ADDRESS = re.compile(r"^(?P<street>[^,]+),\s*(?P<city>[^,]+),\s*(?P<state>[A-Za-z .]+?)\s*(?P<zip>\d{5}(?:-\d{4})?)?"
                            r"(?:,\s*(?:USA|US|United States))?$")
_TYPED_VALUE = re.compile(r"^\s*(?P<kind>[A-Za-z ]+):\s*(?P<value>.+)$")


def _typed_values(cell: str) -> list[tuple[str, str]]:
    """A Podio phone or email cell: ``mobile: 918-555-0101; home: 918 555 0102`` (one value
    per line or separated by ``;``), or bare values."""
    values = []
    for part in re.split(r"[;\n]", cell or ""):
        if not part.strip():
            continue
        typed = _TYPED_VALUE.match(part)
        if typed and not typed.group("kind").strip().isdigit():
            values.append((typed.group("kind").strip().lower(), typed.group("value").strip()))
        else:
            values.append(("", part.strip()))
    return values


def split_one_line_address(text: str) -> AddressIn:
    """``'1633 Elm St, Tulsa, OK 74104'`` (a Podio location field) -> its parts."""
    text = " ".join((text or "").split())
    match = _PODIO_ADDRESS.match(text)
    if not match:
        return AddressIn(street=text)
    return AddressIn(street=match.group("street"), city=match.group("city"), state=match.group("state").strip(),
                     zip_code=match.group("zip") or "")


def _podio_people(table, zone) -> list[PersonIn]:
    cols = _Columns(table.headers)
    own = _PersonColumns(
        id=cols.find("Item ID", "App Item ID", "Unique ID", "ID"),
        name=cols.find("Seller Name", "Owner Name", "Name", "Full Name", "Title", "Contact Name"),
        first=cols.find("First Name"), last=cols.find("Last Name"),
        stage=cols.find("Status", "Stage", "Lead Status", "Pipeline Stage"),
        source=cols.find("Lead Source", "Source", "Marketing Source"),
        agent=cols.find("Assigned To", "Acquisition Manager", "Lead Manager", "Agent", "Responsible"),
        tags=cols.find("Tags"), created=cols.find("Created on", "Created On", "Created"),
        updated=cols.find("Last edited on", "Last Edited On", "Updated on", "Updated"),
        background=cols.find("Notes", "Motivation", "Background", "Description"))
    c_address = cols.find("Property Address", "Address", "Location", "Property")
    c_street, c_city = cols.find("Street", "Property Street"), cols.find("City", "Property City")
    c_state, c_zip = cols.find("State", "Property State"), cols.find("Zip", "Zip Code", "Property Zip")
    c_mailing = cols.find("Mailing Address")
    phone_columns = [h for h in table.headers if "phone" in squash(h) or squash(h) in {"mobile", "cell"}]
    email_columns = [h for h in table.headers if "email" in squash(h)]
    people = []
    for line, row in table.rows():
        person = own.person(line, row, zone)
        if _cell(row, c_street):
            person.addresses.append(AddressIn(street=_cell(row, c_street), city=_cell(row, c_city),
                                              state=_cell(row, c_state), zip_code=_cell(row, c_zip), kind="property"))
        elif _cell(row, c_address):
            address = split_one_line_address(_cell(row, c_address))
            address.kind = "property"
            person.addresses.append(address)
        if _cell(row, c_mailing):
            mailing = split_one_line_address(_cell(row, c_mailing))
            mailing.kind = "mailing"
            person.addresses.append(mailing)
        for column in phone_columns:
            for kind, value in _typed_values(row.get(column, "")):
                person.phones.append(PhoneIn(raw=value, kind=kind or squash(column).replace("phone", ""),
                                             column=column))
        for column in email_columns:
            person.emails += [value for _, value in _typed_values(row.get(column, ""))]
        people.append(person)
    return people


def _podio_notes(table, zone) -> list[NoteIn]:
    cols = _Columns(table.headers)
    c_id, c_item = cols.find("Comment ID", "ID"), cols.find("Item ID", "App Item ID")
    c_body = cols.find("Comment", "Text", "Body", "Note")
    c_created, c_author = cols.find("Created on", "Created On", "Created"), cols.find("Created by", "Author")
    notes = []
    for line, row in table.rows():
        errors: list[str] = []
        notes.append(NoteIn(row_number=line, external_id=_cell(row, c_id), person_id=_cell(row, c_item),
                            body=_text(row, c_body), created=_when(row, c_created, zone, errors),
                            author=_cell(row, c_author), errors=errors))
    return notes


def _podio_tasks(table, zone) -> list[TaskIn]:
    cols = _Columns(table.headers)
    c_id, c_item = cols.find("Task ID", "ID"), cols.find("Item ID", "Reference ID", "App Item ID")
    c_title = cols.find("Task", "Title", "Text")
    c_due, c_assignee = cols.find("Due date", "Due Date", "Due on", "Due"), cols.find("Responsible", "Assigned To")
    c_status, c_done_at = cols.find("Status", "Completed"), cols.find("Completed on", "Completed On")
    tasks = []
    for line, row in table.rows():
        errors: list[str] = []
        tasks.append(TaskIn(
            row_number=line, external_id=_cell(row, c_id), person_id=_cell(row, c_item), title=_cell(row, c_title),
            due=_when(row, c_due, zone, errors), assignee=_cell(row, c_assignee),
            completed=_yes(row.get(c_status, "") if c_status else ""),
            completed_at=_when(row, c_done_at, zone, errors), errors=errors))
    return tasks


READERS = {
    CrmSystem.FOLLOW_UP_BOSS: {PEOPLE: _fub_people, NOTES: _fub_notes, TASKS: _fub_tasks},
    CrmSystem.PODIO: {PEOPLE: _podio_people, NOTES: _podio_notes, TASKS: _podio_tasks},
}


# The files -----------------------------------------------------------------------------


def _is_people_table(system: str, headers: list[str]) -> bool:
    cols = _Columns(headers)
    if system == CrmSystem.FOLLOW_UP_BOSS:
        named = cols.find("First Name", "Last Name", "Name")
        return bool(named and (cols.numbered(r"phone(\d+)") or cols.numbered(r"email(\d+)")
                               or cols.numbered(r"address(\d+)street")))
    named = cols.find("Seller Name", "Owner Name", "Name", "Full Name", "Title", "Contact Name", "First Name")
    placed = cols.find("Property Address", "Address", "Location", "Property", "Street")
    return bool(named and placed and cols.find("Created on", "Item ID", "App Item ID", "Created by"))


def check_people_headers(system: str, headers: list[str], name: str) -> None:
    """Refuse a people table that is not this product's layout, naming the other product
    when it is that one's."""
    if _is_people_table(system, headers):
        return
    other = CrmSystem.PODIO if system == CrmSystem.FOLLOW_UP_BOSS else CrmSystem.FOLLOW_UP_BOSS
    if _is_people_table(other, headers):
        cols = _Columns(headers)
        clues = PODIO_CLUES if other == CrmSystem.PODIO else FUB_CLUES
        clue = next((cols.find(c) for c in clues if cols.find(c)), headers[0])
        raise NotAnExport(LOOKS_LIKE_OTHER.format(name=name, other=CrmSystem(other).label,
                                                  system=CrmSystem(system).label, clue=f"a “{clue}” column"))
    expected = FUB_EXPECTED if system == CrmSystem.FOLLOW_UP_BOSS else PODIO_EXPECTED
    raise NotAnExport(NOT_AN_EXPORT.format(name=name, system=CrmSystem(system).label, expected=expected))


def _member_kind(member: str) -> str | None:
    stem = squash(Path(member).stem)
    for kind, words in ((NOTES, ("note", "comment")), (TASKS, ("task",)), (PEOPLE, ("people", "person", "contact",
                                                                                    "lead", "item", "export"))):
        if any(word in stem for word in words):
            return kind
    return None


def _is_zip_of_tables(source) -> bool:
    """A ZIP of export files, not an XLSX (itself a zip, with its workbook inside)."""
    try:
        with open_binary(source) as handle, zipfile.ZipFile(handle) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return False
    return "[Content_Types].xml" not in names


@contextmanager
def export_tables(path, name: str) -> Iterator[dict[str, tuple[str, Path]]]:
    """The export's tables by kind (people, notes, tasks) -> (file name, source), the members
    of a ZIP unpacked to a temporary folder (checked against zip bombs first). ``path``: a
    path, an upload not yet stored or a stored one (leadcrm/shared/uploads.py)."""
    if not _is_zip_of_tables(path):
        yield {PEOPLE: (name, path)}
        return
    try:
        with open_binary(path) as handle:
            zip_check(handle, total_limit=UNZIPPED_LIMIT, too_large=ZIP_TOO_LARGE.format(name=name),
                      too_tight=ZIP_TOO_TIGHT.format(name=name))
    except UnzippedTooLarge as refused:
        raise NotAnExport(str(refused)) from None
    with tempfile.TemporaryDirectory(prefix="crm-import-") as folder, open_binary(path) as handle, \
            zipfile.ZipFile(handle) as archive:
        members = [info for info in archive.infolist()
                   if not info.is_dir() and not Path(info.filename).name.startswith((".", "__"))
                   and Path(info.filename).suffix.lower() in (".csv", ".xlsx", ".txt")]
        tables: dict[str, tuple[str, Path]] = {}
        for number, info in enumerate(members):
            kind = _member_kind(info.filename) or (PEOPLE if len(members) == 1 else None)
            if kind is None or kind in tables:
                continue
            target = Path(folder) / f"{number}{Path(info.filename).suffix.lower()}"
            with archive.open(info) as source, target.open("wb") as out:
                for chunk in bounded_read(source, limit=UNZIPPED_LIMIT, too_large=ZIP_TOO_LARGE.format(name=name)):
                    out.write(chunk)
            tables[kind] = (Path(info.filename).name, target)
        if PEOPLE not in tables:
            raise NotAnExport(ZIP_WITHOUT_PEOPLE.format(name=name))
        yield tables


def check_export(*, system: str, path, name: str) -> None:
    """What the upload checks at once: the file is this product's export (headers only)."""
    try:
        with export_tables(path, name) as tables:
            member, people_path = tables[PEOPLE]
            check_people_headers(system, open_table(people_path, member).headers, name)
            for kind in (NOTES, TASKS):
                if kind in tables:
                    open_table(tables[kind][1], tables[kind][0])
    except (NotATable, UnzippedTooLarge) as refused:
        raise NotAnExport(str(refused)) from None
    except zipfile.BadZipFile:
        raise NotAnExport(ZIP_DAMAGED.format(name=name)) from None


def read_export(*, system: str, path, name: str, zone: ZoneInfo) -> Export:
    """Every person, note and task of the export."""
    readers = READERS[CrmSystem(system)]
    try:
        with export_tables(path, name) as tables:
            found = {}
            for kind, (member, member_path) in tables.items():
                table = open_table(member_path, member)
                if kind == PEOPLE:
                    check_people_headers(system, table.headers, name)
                found[kind] = readers[kind](table, zone)
    except (NotATable, UnzippedTooLarge) as refused:
        raise NotAnExport(str(refused)) from None
    except zipfile.BadZipFile:
        raise NotAnExport(ZIP_DAMAGED.format(name=name)) from None
    return Export(people=found[PEOPLE], notes=found.get(NOTES, []), tasks=found.get(TASKS, []))
