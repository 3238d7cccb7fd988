"""Zip bombs built in the test: archives that are small on disk and huge unpacked.

A list's spreadsheet whose shared strings are megabytes of one repeated word packs about a
thousand to one (the finding: 0.7 MB on disk, 200 MB unpacked), and a registry zip of one
number repeated does too. Written member by member with ``zipfile``, so building one takes
no more memory than a chunk of its text.
"""

from __future__ import annotations

import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>")
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="List" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>')
HEADERS = ["Address", "City", "State", "Zip"]
SST_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
FILLER = "<si><t>Pine Rd</t></si>"  # short strings, as a real list's: millions of them, packing about 500 to 1


def _sheet(rows: int) -> str:
    cells = []
    for row in range(1, rows + 2):
        cells.append(f'<row r="{row}">' + "".join(
            f'<c r="{"ABCD"[col]}{row}" t="s"><v>{col if row == 1 else 4}</v></c>' for col in range(4)) + "</row>")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{"".join(cells)}</sheetData></worksheet>')


def xlsx_bomb(unpacked_mb: int = 200, rows: int = 3) -> bytes:
    """A workbook with a header row and ``rows`` rows whose sharedStrings.xml unpacks to
    about ``unpacked_mb`` MB (the filler strings are never used by a cell)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", _sheet(rows))
        with archive.open("xl/sharedStrings.xml", "w") as member:
            member.write(SST_HEAD.encode())
            member.write("".join(f"<si><t>{h}</t></si>" for h in HEADERS).encode())
            member.write(b"<si><t>1 Pine Rd</t></si>")
            block = (FILLER * 43478).encode()  # 1 MB
            for _ in range(unpacked_mb):
                member.write(block)
            member.write(b"</sst>")
    return out.getvalue()


def registry_bomb(unpacked_mb: int = 200) -> bytes:
    """A registry zip whose one text file is a number repeated to ``unpacked_mb`` MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("dnc.txt", "w") as member:
            block = b"9185550104\n" * 90909  # 1 MB
            for _ in range(unpacked_mb):
                member.write(block)
    return out.getvalue()
