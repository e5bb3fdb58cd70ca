"""The board pack as a PowerPoint deck (python-pptx): a title slide, the headline figures, the key messages and
reach gaps, then one chart per slide with its title, plain-English sentence, source and period, and the
small-number rule. Chart images are drawn with the presentation template (large text for a projector)."""

from __future__ import annotations

import io

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches, Pt

from board_pack.content import Pack
from board_pack.images import IMAGE_HEIGHT, IMAGE_WIDTH, chart_images
from charts.theme import for_presentation

BLUE = RGBColor(0x00, 0x5E, 0xB8)
DARK = RGBColor(0x21, 0x2B, 0x32)
GREY = RGBColor(0x4C, 0x62, 0x72)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)


def _text(slide, left, top, width, height, paragraphs, size=18, colour=DARK, bold=False, name=None):
    """A text box with one paragraph per item (word-wrapped)."""
    box = slide.shapes.add_textbox(left, top, width, height)
    if name:
        box.name = name
    frame = box.text_frame
    frame.word_wrap = True
    for i, text in enumerate(paragraphs):
        p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        p.text = text
        p.space_after = Pt(6)
        for run in p.runs:
            run.font.size = Pt(size)
            run.font.color.rgb = colour
            run.font.bold = bold
            run.font.name = "Arial"
    return box


def _title_bar(slide, title: str) -> None:
    bar = slide.shapes.add_shape(1, 0, 0, WIDTH, Inches(1.0))  # 1 = rectangle
    bar.fill.solid()
    bar.fill.fore_color.rgb = BLUE
    bar.line.fill.background()
    slide.shapes.title.text = title
    t = slide.shapes.title
    t.left, t.top, t.width, t.height = MARGIN, Inches(0.1), WIDTH - 2 * MARGIN, Inches(0.8)
    for p in t.text_frame.paragraphs:
        for run in p.runs:
            run.font.size, run.font.bold, run.font.color.rgb, run.font.name = Pt(30), True, WHITE, "Arial"
    slide.shapes._spTree.remove(t._element)  # keep the title above the bar
    slide.shapes._spTree.append(t._element)


def _footer(slide, text: str) -> None:
    _text(slide, MARGIN, HEIGHT - Inches(0.62), WIDTH - 2 * MARGIN, Inches(0.55), [text], size=11, colour=GREY,
          name="Footer")


def render_pptx(pack: Pack, images: bool = True) -> bytes:
    """The deck as .pptx bytes. Without a browser engine (or with images=False) each chart slide says so in one
    sentence instead of showing the picture."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    blank_title = prs.slide_layouts[5]  # title only

    slide = prs.slides.add_slide(prs.slide_layouts[0])
    slide.shapes.title.text = pack.title
    slide.placeholders[1].text = f"{pack.subtitle}\nMade on {pack.made_on:%-d %B %Y}"
    for shape in (slide.shapes.title, slide.placeholders[1]):
        for p in shape.text_frame.paragraphs:
            for run in p.runs:
                run.font.name, run.font.color.rgb = "Arial", BLUE if shape is slide.shapes.title else DARK
    _text(slide, MARGIN, HEIGHT - Inches(1.6), WIDTH - 2 * MARGIN, Inches(1.2), [pack.rule, *pack.notes], size=14,
          colour=GREY, name="Notes")

    slide = prs.slides.add_slide(blank_title)
    _title_bar(slide, "Headline figures")
    rows = len(pack.headlines) + 1
    table = slide.shapes.add_table(rows, 3, MARGIN, Inches(1.15), WIDTH - 2 * MARGIN, Inches(5.6)).table
    table.columns[0].width, table.columns[1].width = Inches(3.0), Inches(1.6)
    table.columns[2].width = WIDTH - 2 * MARGIN - Inches(4.6)
    for c, head in enumerate(("Figure", "Value", "What it counts")):
        table.cell(0, c).text = head
    for r, h in enumerate(pack.headlines, start=1):
        note = h.note + (f". {h.verdict.label}" if h.verdict is not None else "")
        table.cell(r, 0).text = h.label
        table.cell(r, 1).text = h.value
        table.cell(r, 2).text = f"{note}. {h.definition}"
    for r in range(rows):
        table.rows[r].height = Inches(0.35 if r == 0 else 0.58)
        for c in range(3):
            cell = table.cell(r, c)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            for p in cell.text_frame.paragraphs:
                for run in p.runs:
                    run.font.size = Pt(14 if (c < 2 or r == 0) else 10)
                    run.font.name = "Arial"
                    run.font.bold = c == 1 or r == 0
    _footer(slide, pack.rule)

    slide = prs.slides.add_slide(blank_title)
    _title_bar(slide, "Key messages")
    _text(slide, MARGIN, Inches(1.2), WIDTH - 2 * MARGIN, Inches(5.5), [f"• {m}" for m in pack.messages], size=20,
          name="Messages")
    _footer(slide, pack.rule)

    slide = prs.slides.add_slide(blank_title)
    _title_bar(slide, "Reach gaps to act on")
    lines = [f"{i}. {g.sentence} (See the {g.page} page.)" for i, g in enumerate(pack.gaps, start=1)] or \
        ["No clear reach gaps were found."]
    _text(slide, MARGIN, Inches(1.2), WIDTH - 2 * MARGIN, Inches(5.5), lines, size=18, name="Gaps")
    _footer(slide, "Ranked by the shortfall: the group's share of residents minus its share of the people we "
                   "reached. " + pack.rule)

    figures = [for_presentation(s.chart.figure) if s.chart.figure is not None else None for s in pack.sections]
    pictures, reason = chart_images(figures) if images else ([None] * len(figures), "")
    if not images:
        from board_pack.images import NO_ENGINE
        reason = NO_ENGINE
    for section, figure, picture in zip(pack.sections, figures, pictures):
        slide = prs.slides.add_slide(blank_title)
        _title_bar(slide, section.title)
        top = Inches(1.1)
        chart_height = Inches(4.3)
        if picture is not None:
            width = int(chart_height * IMAGE_WIDTH / IMAGE_HEIGHT)
            left = int((WIDTH - width) / 2)
            pic = slide.shapes.add_picture(io.BytesIO(picture), left, top, width=Emu(width), height=chart_height)
            pic.name = "Chart"
        elif figure is not None:
            _text(slide, MARGIN, top + Inches(1.5), WIDTH - 2 * MARGIN, Inches(1.0), [reason], size=18,
                  colour=GREY, name="No image")
        else:
            chart_height = Inches(0.2)
        _text(slide, MARGIN, top + chart_height + Inches(0.1), WIDTH - 2 * MARGIN, Inches(1.3),
              [section.chart.sentence], size=16 if len(section.chart.sentence) < 420 else 13, name="Sentence")
        _footer(slide, f"Source: {section.source}. Period: {section.period}. {pack.rule}")
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()
