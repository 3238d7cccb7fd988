"""The seller guide: its blocks on the status page, and the PDF with the agent on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from leadcrm.accounts.models import Brokerage, User
from pipeline.models import (
    GuideSection,
)


def agent_label(agent: User | None) -> str:
    """How the status page and the guide name the person in touch with the seller."""
    from leadcrm.accounts.models import Capacity

    return "Who is in touch with you" if agent is not None and agent.capacity == Capacity.PRINCIPAL else "Your agent"


# The guide --------------------------------------------------------------------------


@dataclass
class GuideBlock:
    title: str
    parts: list[tuple[str, object]]  # ("p", text) or ("ul", [items])


def guide_blocks() -> list[GuideBlock]:
    """The guide's sections as paragraphs and bullet lists (plain text in the database)."""
    blocks = []
    for section in GuideSection.objects.all():
        parts: list[tuple[str, object]] = []
        for chunk in section.body.replace("\r\n", "\n").split("\n\n"):
            lines = [line.strip() for line in chunk.strip().split("\n") if line.strip()]
            bullets = [line[2:].strip() for line in lines if line.startswith("- ")]
            prose = [line for line in lines if not line.startswith("- ")]
            if prose:
                parts.append(("p", " ".join(prose)))
            if bullets:
                parts.append(("ul", bullets))
        blocks.append(GuideBlock(section.title, parts))
    return blocks


GUIDE_TITLE = "Selling your home through a short sale: what to expect"


# A font with the letters of every name (Nguyễn, Łukasz): the PDF's built-in Helvetica has
# only Latin-1. Debian's DejaVu when installed (it comes with Chromium), else Helvetica.
PDF_FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _pdf_fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "GuideSans" in pdfmetrics.getRegisteredFontNames():
        return "GuideSans", "GuideSans-Bold"
    regular, bold = (Path(path) for path in PDF_FONT_FILES)
    if not (regular.exists() and bold.exists()):
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont("GuideSans", str(regular)))
    pdfmetrics.registerFont(TTFont("GuideSans-Bold", str(bold)))
    return "GuideSans", "GuideSans-Bold"


def guide_pdf(*, agent: User | None = None) -> bytes:
    """The guide as a PDF to email or print, with the agent's name and phone on it."""
    from io import BytesIO
    from xml.sax.saxutils import escape

    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

    from compliance.disclosures import role_disclosure_written

    brokerage = Brokerage.objects.current()
    styles = getSampleStyleSheet()
    regular, bold = _pdf_fonts()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=regular, fontSize=11.5, leading=16,
                          alignment=TA_LEFT)
    heading = ParagraphStyle("heading", parent=styles["Heading2"], fontName=bold, fontSize=15, leading=19,
                             spaceBefore=12)
    styles["Title"].fontName = bold
    small = ParagraphStyle("small", parent=body, fontSize=9.5, leading=13, textColor="#555555")
    story = [Paragraph(escape(GUIDE_TITLE), styles["Title"]),
             Paragraph(escape(f"From {brokerage.name}"), small), Spacer(1, 0.15 * inch)]
    if agent is not None:
        contact = agent.get_full_name() or agent.username
        if agent.phone:
            from leads.templatetags.crm import phone

            contact += f" · {phone(agent.phone)}"
        if agent.email:
            contact += f" · {agent.email}"
        story += [Paragraph(escape(f"{agent_label(agent)}: {contact}"), body),
                  Paragraph(escape(role_disclosure_written(actor=agent, brokerage=brokerage)), small)]
    for block in guide_blocks():
        story.append(Paragraph(escape(block.title), heading))
        for kind, content in block.parts:
            if kind == "p":
                story.append(Paragraph(escape(content), body))
                story.append(Spacer(1, 0.06 * inch))
            else:
                story.append(ListFlowable([ListItem(Paragraph(escape(item), body), leftIndent=12) for item in content],
                                          bulletType="bullet", start="•", leftIndent=12))
    story += [Spacer(1, 0.2 * inch), Paragraph(escape(
        "This guide is general information, not legal, tax or credit advice. Only your lenders decide on a "
        "short sale."), small)]
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=LETTER, title=GUIDE_TITLE, author=brokerage.name,
                                 leftMargin=0.9 * inch, rightMargin=0.9 * inch, topMargin=0.8 * inch,
                                 bottomMargin=0.8 * inch)
    document.build(story)
    return out.getvalue()
