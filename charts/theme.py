"""NHS identity colours, readable layout defaults and the Chart bundle every chart returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

import pandas as pd

from data_access.disclosure import policy

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_BRIGHT_BLUE = "#0072CE"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_DARK_GREY = "#425563"
NHS_WARM_YELLOW = "#FFB81C"
NHS_DARK_PINK = "#7C2855"
NHS_GREEN = "#009639"
NHS_PALE_GREY = "#E8EDEE"

# Colours for data marks on a white background: each at least 3:1 against white (WCAG 1.4.11).
# Light Blue and Warm Yellow are below 3:1 on white, so they are used only as fills with an outline.
SERIES_COLOURS = [NHS_BLUE, NHS_DARK_PINK, NHS_GREEN, NHS_DARK_GREY, NHS_DARK_BLUE, NHS_BRIGHT_BLUE]
# Line dashes so that colour is never the only way to tell series apart (WCAG 1.4.1).
SERIES_DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
SERIES_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star"]

FONT_SIZE = 18
FONT_FAMILY = "Arial, Helvetica, sans-serif"


@dataclass
class Chart:
    """A chart and its text alternative: the figure (plotly or pydeck), the plain-English
    sentence with its numbers, and the data behind it as a table."""

    figure: Any
    sentence: str
    data: pd.DataFrame = field(default_factory=pd.DataFrame)


def style(fig, title: str | None = None, height: int = 460):
    """Apply the house style: large text, white background, legend below, NHS colours."""
    fig.update_layout(
        template="plotly_white",
        font=dict(family=FONT_FAMILY, size=FONT_SIZE, color="#212B32"),
        title=dict(text=title, font=dict(size=FONT_SIZE + 4)) if title else None,
        height=height,
        margin=dict(l=10, r=20, t=60 if title else 20, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0, title_text=""),
        colorway=SERIES_COLOURS,
        hoverlabel=dict(font_size=FONT_SIZE - 2),
    )
    fig.update_xaxes(showgrid=False, linecolor=NHS_DARK_GREY, tickfont=dict(size=FONT_SIZE - 2))
    fig.update_yaxes(gridcolor=NHS_PALE_GREY, linecolor=NHS_DARK_GREY, tickfont=dict(size=FONT_SIZE - 2))
    return fig


def pct(value: float | None, digits: int = 0) -> str:
    """A share as a percentage for sentences: 0.1234 -> '12%'."""
    if value is None or pd.isna(value):
        return "not known"
    return f"{value * 100:.{digits}f}%"


def signed(value: int) -> str:
    """A change with its sign: +12, -3, 0."""
    return f"{value:+,}" if value else "0"


def plain_label(text) -> str:
    """Free text (a survey or activity title, an answer option, an action) for a plotly label or hover, shown
    exactly as typed: plotly draws a subset of HTML in text (<b>, <br>, <a href=...>), so &, < and > are escaped
    (plotly turns the entities back into the characters)."""
    return escape("" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text), quote=False)


def hidden_words() -> str:
    """A hidden count of people in a sentence, under the policy in force: 'fewer than 5', or '1 to 7' under
    the HES rule (where '*' alone would not read as words)."""
    p = policy()
    return f"1 to {p.threshold - 1}" if p.rule == "hes" else f"fewer than {p.threshold}"


# --- Presentation mode: larger text and stronger lines for a projector --------------------------------

PRESENTATION_SCALE = 1.45
PRESENTATION_TEXT = "#000000"


def presentation_template():
    """A plotly template for a projector: large black text, thick dark axes, bold lines and markers."""
    import plotly.graph_objects as go

    size = round(FONT_SIZE * PRESENTATION_SCALE)
    return go.layout.Template(layout=dict(
        font=dict(family=FONT_FAMILY, size=size, color=PRESENTATION_TEXT),
        title=dict(font=dict(size=size + 6, color=PRESENTATION_TEXT)),
        paper_bgcolor="white", plot_bgcolor="white",
        xaxis=dict(linecolor=PRESENTATION_TEXT, linewidth=2, tickfont=dict(size=size - 2, color=PRESENTATION_TEXT),
                   gridcolor="#B0B8BC"),
        yaxis=dict(linecolor=PRESENTATION_TEXT, linewidth=2, tickfont=dict(size=size - 2, color=PRESENTATION_TEXT),
                   gridcolor="#B0B8BC"),
        legend=dict(font=dict(size=size - 2, color=PRESENTATION_TEXT)),
        hoverlabel=dict(font=dict(size=size - 2)),
        colorway=SERIES_COLOURS,
    ))


def _scaled(size, scale: float):
    return None if size is None else round(size * scale)


def for_presentation(fig, scale: float = PRESENTATION_SCALE):
    """A copy of a plotly figure for a projector: the presentation template, every text size scaled up,
    text in black, and thicker lines. Charts already styled keep their layout; only sizes change."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    size = round(FONT_SIZE * scale)
    layout = out.layout
    out.update_layout(template=presentation_template(),
                      font=dict(size=_scaled(layout.font.size, scale) or size, color=PRESENTATION_TEXT),
                      hoverlabel=dict(font_size=size - 2),
                      legend=dict(font=dict(size=size - 2, color=PRESENTATION_TEXT)))
    if layout.title and layout.title.text:
        out.update_layout(title_font=dict(size=_scaled(layout.title.font.size, scale) or size + 6,
                                          color=PRESENTATION_TEXT))
    if layout.height:
        out.update_layout(height=round(layout.height * 1.2))
    out.update_xaxes(tickfont=dict(size=size - 2, color=PRESENTATION_TEXT), title_font=dict(size=size),
                     linecolor=PRESENTATION_TEXT, linewidth=2)
    out.update_yaxes(tickfont=dict(size=size - 2, color=PRESENTATION_TEXT), title_font=dict(size=size),
                     linecolor=PRESENTATION_TEXT, linewidth=2)
    for ann in out.layout.annotations or ():
        ann.font.size = _scaled(ann.font.size, scale) or size - 2
    for trace in out.data:
        line = getattr(trace, "line", None)
        if line is not None and getattr(line, "width", None):
            line.width = line.width * 1.5
        marker = getattr(trace, "marker", None)
        if marker is not None and isinstance(getattr(marker, "size", None), (int, float)):
            marker.size = marker.size * 1.3
        textfont = getattr(trace, "textfont", None)
        if textfont is not None:
            textfont.size = _scaled(textfont.size, scale) or size - 2
    return out
