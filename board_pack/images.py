"""Static chart images for the deck, through plotly's image export (kaleido), which drives a Chrome or
Chromium browser. The browser is the one named by BROWSER_PATH, else the first of chromium, chromium-browser,
google-chrome or chrome on PATH (as kaleido's own search does). Nothing is ever downloaded: without a browser
the deck says so in one sentence on each chart's slide."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
NO_ENGINE = ("The chart image could not be drawn here: making pictures of charts needs the Chromium or Chrome "
             "browser, which is not installed on the computer that made this pack (the HTML report has the chart).")
IMAGE_WIDTH, IMAGE_HEIGHT = 1600, 800


def browser_path() -> str | None:
    """The Chrome or Chromium that image export would use, or None when there is none."""
    named = os.environ.get("BROWSER_PATH")
    if named:
        return named if Path(named).is_file() and os.access(named, os.X_OK) else None
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chart_images(figures: list, width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> tuple[list[bytes | None], str]:
    """PNG images of the figures (None for a missing figure), drawn in one browser session, and '' - or, when
    no browser engine can draw them, a list of None and the sentence saying why."""
    path = browser_path()
    if path is None:
        return [None] * len(figures), NO_ENGINE
    os.environ.setdefault("BROWSER_PATH", path)  # kaleido's browser finder reads it
    import plotly.io as pio

    wanted = [(i, fig) for i, fig in enumerate(figures) if fig is not None]
    out: list[bytes | None] = [None] * len(figures)
    if not wanted:
        return out, ""
    with tempfile.TemporaryDirectory(prefix="pack-images-") as tmp:
        files = [Path(tmp) / f"chart-{i}.png" for i, _ in wanted]
        try:
            pio.write_images([_framed(fig) for _, fig in wanted], files, format="png", width=width, height=height)
        except Exception:  # noqa: BLE001 - any failure of the browser engine: the deck says so instead
            return [None] * len(figures), NO_ENGINE
        for (i, _), file in zip(wanted, files):
            out[i] = file.read_bytes() if file.exists() else None
    return out, ""


def _framed(fig):
    """A copy of the figure with room for its axis labels: the screen layout's narrow margins rely on the
    browser growing them, which the image export does not do, so tick labels would be cut off."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    margin = out.layout.margin
    out.update_layout(margin=dict(l=max(margin.l or 0, 140), r=max(margin.r or 0, 40),
                                  t=max(margin.t or 0, 70), b=max(margin.b or 0, 90)))
    out.update_xaxes(automargin=True)
    out.update_yaxes(automargin=True)
    return out
