"""NHS identity colours, readable layout defaults and the Chart bundle every chart returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
