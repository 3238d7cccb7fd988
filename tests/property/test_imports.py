"""List imports (leads/imports/) as properties: cells, CSV files, whole tables.

Cells as lists write them (money ``$245,000``, percents ``63.1``, dates ``05/02/2026``,
``n/a``) read to the same value however they are spelled, and anything else is a
``CellError`` naming the cell, never a crash. A CSV file (BOM or not, CRLF, LF or CR
line ends, quoted commas, quotes and line breaks, Windows-1252) reads back exactly what
was written. And a random table never loses a row: each one creates a lead, merges into
one, or is rejected with a reason, and importing it again changes nothing.
"""

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from leads.imports import cells
from leads.imports.columns import detect
from leads.imports.reading import open_table
from leads.imports.records import read_record
from leads.imports.services import import_job_create, import_run
from leads.models import ImportRowIssue, ImportStatus, Lead

# Cells ---------------------------------------------------------------------------------------

AMOUNTS = st.decimals(min_value=Decimal("-9999999999.99"), max_value=Decimal("9999999999.99"), places=2)


@st.composite
def money_spellings(draw, amount: Decimal) -> str:
    whole = amount == amount.to_integral_value()
    body = draw(st.sampled_from(
        ["{a:,.2f}", "{a:.2f}", "{a:,}", "{a}"] + (["{a:,.0f}", "{a:.0f}"] if whole else [])
    )).format(a=abs(amount))
    body = draw(st.sampled_from(["", "$", "$ "])) + body
    if amount < 0:
        body = draw(st.sampled_from(["({})", "-{}"])).format(body)
    pad = draw(st.sampled_from(["", " ", "  "]))
    return pad + body + pad


@given(data=st.data(), amount=AMOUNTS)
@example(data=None, amount=Decimal("245000"))
@example(data=None, amount=Decimal("-1200"))
def test_money_written_any_way_reads_as_its_amount(data, amount):
    written = [f"${amount:,.2f}" if amount >= 0 else f"(${-amount:,.2f})", amount, float(amount)]
    if data is not None:
        written += [data.draw(money_spellings(amount)) for _ in range(3)]
    assert {str(w): cells.money(w) for w in written} == {str(w): amount for w in written}


PERCENTS = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=3)


@given(value=PERCENTS, pad=st.sampled_from(["", " "]))
@example(value=Decimal("63.1"), pad="")
def test_a_percent_reads_the_same_with_or_without_its_sign(value, pad):
    assert cells.number(f"{pad}{value}%{pad}") == cells.number(f"{value}") == cells.number(f"{value} %") == value


@given(value=st.integers(-(10**12) + 1, 10**12 - 1))
def test_a_whole_number_reads_with_or_without_thousands_commas(value):
    assert cells.integer(f"{value:,}") == cells.integer(str(value)) == value


DATE_SPELLINGS = ["{d:%m/%d/%Y}", "{d.month}/{d.day}/{d.year}", "{d:%Y-%m-%d}", "{d:%m-%d-%Y}", "{d:%Y/%m/%d}",
                  "{d:%m/%d/%Y} 00:00", "{d:%Y-%m-%d} 00:00:00"]


@given(day=st.dates(date(1900, 1, 1), date(2099, 12, 31)), spelling=st.sampled_from(DATE_SPELLINGS),
       pad=st.sampled_from(["", " "]))
@example(day=date(2026, 5, 2), spelling="{d:%m/%d/%Y}", pad="")
def test_a_date_reads_as_itself_in_every_layout_lists_use(day, spelling, pad):
    assert cells.day(pad + spelling.format(d=day) + pad) == day


@st.composite
def blanks(draw) -> str:
    word = draw(st.sampled_from(sorted(cells.EMPTY_WORDS)))
    word = "".join(ch.upper() if draw(st.booleans()) else ch for ch in word)
    pad = draw(st.sampled_from(["", " ", "  ", "\t"]))
    return pad + word + pad


@given(value=st.one_of(st.none(), blanks()))
@example(value="n/a")
@example(value=" N/A ")
def test_n_a_and_every_blank_word_read_as_nothing_in_every_kind_of_cell(value):
    assert [cells.money(value), cells.number(value), cells.integer(value), cells.day(value), cells.flag(value),
            cells.text(value)] == [None, None, None, None, None, ""]


JUNK = st.one_of(st.text(), st.text(alphabet="$,.()%-+eE0123456789 naNIfinity/", max_size=20))


@given(value=JUNK)
@example(value="1e999999")
@example(value="NaN")
@example(value="$")
@example(value="(-)")
@example(value="02/30/2026")
def test_any_cell_is_a_value_or_a_cell_error_never_a_crash(value):
    for read in (cells.money, cells.number, cells.integer, cells.day):
        try:
            out = read(value)
        except cells.CellError as error:
            assert repr(value.strip())[:10] in str(error) or str(error), (read, value)
            continue
        if isinstance(out, Decimal):
            assert out.is_finite() and abs(out) < Decimal("1e13"), (read, value, out)
    assert cells.flag(value) in (True, False, None)


# Found by the property above: an exponent past the decimal context's (1e9999999) raised
# decimal.Overflow out of money(), which no caller catches, and one such cell failed a
# whole import. Fixed in leads/imports/cells.py (the exponent is compared before abs()).
@pytest.mark.parametrize("value", ["1e9999999", "$1E+1000000", "(-9e9999999)"])
def test_money_past_the_decimal_range_is_a_cell_error(value):
    with pytest.raises(cells.CellError):
        cells.money(value)


@pytest.mark.django_db
def test_one_unreadable_amount_does_not_fail_the_whole_import(broker):
    data = b"Address,City,State,Zip,Est. Value\r\n12 Oak St,Tulsa,OK,74103,1e9999999\r\n14 Oak St,Tulsa,OK,74103,5\r\n"
    job = import_run(job_id=import_job_create(content=data, file_name="list.csv", created_by=broker,
                                              list_name="Overflow").pk)
    assert (job.status, job.leads_created) == (ImportStatus.DONE, 2)


# CSV files ---------------------------------------------------------------------------------

# Headers as lists name columns (no line breaks; the delimiter found from the first line).
HEADER = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 #_-()",
                 min_size=1, max_size=12).map(lambda h: " ".join(h.split())).filter(bool)
CELL = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=15)


@st.composite
def tables(draw, cell=CELL):
    headers = draw(st.lists(HEADER, min_size=2, max_size=6, unique_by=str.lower))
    rows = draw(st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), max_size=8))
    return headers, rows


def csv_line(cells_, line_end):
    """One record as spreadsheets write it: a cell with a comma, a quote or a line break
    quoted, its quotes doubled. (Python's writer leaves a lone CR unquoted when its lines
    end in LF, which no reader can tell from a line end.)"""
    quoted = [f'"{c.replace(chr(34), chr(34) * 2)}"' if any(ch in c for ch in ',"\r\n') else c for c in cells_]
    return ",".join(quoted) + line_end


def write_csv(tmp_path, headers, rows, *, line_end, bom, encoding="utf-8"):
    data = "".join(csv_line(row, line_end) for row in [headers, *rows]).encode(encoding)
    path = tmp_path / "list.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@settings(max_examples=150)
@given(table=tables(), line_end=st.sampled_from(["\r\n", "\n", "\r"]), bom=st.booleans())
@example(table=(["Address", "Owner"], [["12 Oak St, Unit 4", 'Ana "Annie" Diaz'], ["7 Elm\r\nRear", "Bo"]]),
         line_end="\r\n", bom=True)
def test_a_csv_reads_back_cell_for_cell(tmp_path_factory, table, line_end, bom):
    headers, rows = table
    if line_end == "\r":
        # A bare CR ends a line wherever it stands unquoted; lists written so keep cells on one line.
        assume(not any("\r" in cell or "\n" in cell for row in rows for cell in row))
    path = write_csv(tmp_path_factory.mktemp("csv"), headers, rows, line_end=line_end, bom=bom)
    read = open_table(path, "list.csv")
    assert read.headers == headers
    kept = [row for row in rows if any(cell.strip() for cell in row)]  # blank lines are no rows
    assert [[row[h] for h in headers] for _, row in read.rows()] == kept


CP1252_CELL = st.text(alphabet="abcXYZ 0123,\"'éèñüÑ€£©½–—‘’“”", max_size=12)


@settings(max_examples=60)
@given(table=tables(cell=CP1252_CELL), bom=st.just(False))
def test_a_windows_1252_csv_reads_back_cell_for_cell(tmp_path_factory, table, bom):
    headers, rows = table
    path = write_csv(tmp_path_factory.mktemp("csv"), headers, rows, line_end="\r\n", bom=bom, encoding="cp1252")
    try:
        path.read_bytes().decode("utf-8")
        assume(False)  # bytes that are also UTF-8 (plain ASCII) are read as UTF-8, the same text
    except UnicodeDecodeError:
        pass
    read = open_table(path, "list.csv")
    kept = [row for row in rows if any(cell.strip() for cell in row)]
    assert (read.headers, [[row[h] for h in headers] for _, row in read.rows()]) == (headers, kept)


# Whole tables: nothing lost ----------------------------------------------------------------

COLUMNS = ["Address", "City", "State", "Zip", "Owner 1 First Name", "Owner 1 Last Name", "Est. Value",
           "Loan 1 Balance", "Loan 1 Date", "Phone1", "Phone2", "Pre-FC Auction Date"]
STREETS = ["12 Oak Street", "12 oak st", "77 Elm Ave", "5 Main St Apt 2", "900 W 1st St", "", "  ", "n/a", "#"]
PLACES = [("Tulsa", "OK", "74103"), ("Pensacola", "FL", "32507"), ("", "", "74103"), ("Tulsa", "Oklahoma", ""),
          ("", "", ""), ("Tulsa", "ZZ", ""), ("", "FL", "abc"), ("Pensacola", "fl", "32507-1234")]
# Any text but NUL: a file with NUL bytes is no table and is refused whole, up front.
JUNKY = st.one_of(st.sampled_from(["", "n/a", "N/A", "-", "#N/A", "unknown"]),
                  st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8))
MONEY = st.one_of(AMOUNTS.flatmap(money_spellings), JUNKY)
DATES = st.one_of(st.dates(date(2000, 1, 1), date(2030, 12, 31)).map(lambda d: f"{d:%m/%d/%Y}"), JUNKY)
PHONES = st.one_of(st.sampled_from(["(918) 555-0104", "918.555.0105 x2", "+1 850 555 0147", "555-0199",
                                    "(123) 555-0104", "9185550104.0"]), JUNKY)


@st.composite
def list_rows(draw):
    street = draw(st.one_of(st.sampled_from(STREETS), JUNKY))
    city, state, zip_code = draw(st.sampled_from(PLACES))
    return [street, city, state, zip_code, draw(st.sampled_from(["Ana", "", "=HYPERLINK(1)"])),
            draw(st.sampled_from(["Diaz", "", "O'Neil, Jr."])), draw(MONEY), draw(MONEY), draw(DATES),
            draw(PHONES), draw(PHONES), draw(DATES)]


@contextmanager
def rolled_back():
    """Each example on a clean slate: its rows are undone before the next one."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(max_examples=25)
@given(rows=st.lists(list_rows(), min_size=1, max_size=12))
def test_a_random_table_never_loses_a_row(broker, tmp_path_factory, rows):
    path = write_csv(tmp_path_factory.mktemp("list"), COLUMNS, rows, line_end="\r\n", bom=False)
    # The rows by the line the reader gives each (a quoted line break makes a row two lines).
    lines = dict(open_table(path, "list.csv").rows())
    assert list(lines.values()) == [dict(zip(COLUMNS, row, strict=True)) for row in rows
                                    if any(cell.strip() for cell in row)]
    if not lines:
        return  # a header alone is refused up front (tests/leads/imports/test_imports.py)
    with rolled_back():
        # given a list whose rows are good, duplicated, half-readable or unplaceable
        # when it is imported
        job = import_run(job_id=import_job_create(content=path.read_bytes(), file_name="list.csv",
                                                  created_by=broker, list_name="Property list").pk)
        # then every row is counted once: created, merged or rejected
        assert job.status == ImportStatus.DONE, job.error
        assert job.rows_total == job.rows_done == len(lines)
        assert job.leads_created + job.leads_merged + job.rows_rejected == len(lines)
        # each rejected row with its reason and the row as it was
        rejected = {issue.row_number: issue for issue in ImportRowIssue.objects.filter(job=job, rejected=True)}
        assert len(rejected) == job.rows_rejected
        assert all(issue.reason.strip() and issue.row == lines[line] for line, issue in rejected.items())
        # and each other row's house is a lead on the list, one lead per house
        columns = detect(COLUMNS)
        keys = {line: read_record(line, row, columns).key for line, row in lines.items() if line not in rejected}
        on_list = set(Lead.objects.filter(list_memberships__lead_list=job.lead_list)
                      .values_list("property__address_key", flat=True))
        assert set(keys.values()) <= on_list
        assert job.leads_created == len(set(keys.values())) == len(on_list)

        # when the same file is imported again, nothing changes but the counts
        again = import_run(job_id=import_job_create(content=path.read_bytes(), file_name="list.csv",
                                                    created_by=broker, list_name="Property list").pk)
        assert (again.leads_created, again.leads_merged, again.rows_rejected) == (0, len(keys), job.rows_rejected)
        assert Lead.objects.count() == len(on_list)
