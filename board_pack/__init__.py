"""The governing-body board pack: a self-contained HTML report and a PowerPoint deck for one ICP area and period,
built from data_access (the figures) and charts (the charts and sentences).

    from board_pack import build_pack
    paths = build_pack(engine, Filters("East Kent", date(2025, 4, 1), date(2026, 3, 31)), Path("out"))
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from sqlalchemy.engine import Engine

from board_pack.content import Pack, pack_content
from board_pack.deck import render_pptx
from board_pack.html import render_html
from data_access.areas import ICP_AREAS
from data_access.cached import QueryContext
from data_access.filters import Filters

__all__ = ["Pack", "PackError", "pack_content", "render_html", "render_pptx", "build_pack", "pack_zip", "parse_filters"]


class PackError(ValueError):
    """Bad arguments for a pack, with one plain sentence saying what is wrong."""


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise PackError(f"The {what} date {text!r} is not a date: give it as YYYY-MM-DD, e.g. 2025-04-01.") from None


def parse_filters(icp: str | None, start: str, end: str) -> Filters:
    """Filters from command-line words: an ICP area by name or short name ('all' or none for Kent and Medway)
    and dates as YYYY-MM-DD; anything wrong raises PackError with one sentence."""
    name = None
    if icp and icp.strip().lower() not in ("all", "kent and medway", "all kent and medway"):
        wanted = icp.strip().lower()
        matches = [n for n, short in ICP_AREAS if wanted in (n.lower(), short.lower())]
        if not matches:
            names = ", ".join(f"'{n}'" for n, _ in ICP_AREAS)
            raise PackError(f"There is no ICP area called {icp!r}: choose one of {names}, or 'all'.")
        name = matches[0]
    first, last = _date(start, "start (--from)"), _date(end, "end (--to)")
    if first > last:
        raise PackError(f"The period starts ({first:%-d %B %Y}) after it ends ({last:%-d %B %Y}).")
    return Filters(name, first, last)


def pack_files(store: Engine | QueryContext, filters: Filters, images: bool = True) -> tuple[Pack, str, bytes]:
    """(the pack's content, its HTML text, its PPTX bytes), from a store's engine or a page's query context."""
    pack = pack_content(store if isinstance(store, QueryContext) else QueryContext.open(store, filters), filters)
    return pack, render_html(pack), render_pptx(pack, images=images)


def build_pack(store: Engine | QueryContext, filters: Filters, out_dir: Path, images: bool = True) -> list[Path]:
    """Write the HTML report and the PowerPoint deck into out_dir (made if needed); returns their paths."""
    pack, html, pptx = pack_files(store, filters, images=images)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{pack.file_stem}.html"
    pptx_path = out_dir / f"{pack.file_stem}.pptx"
    html_path.write_text(html, encoding="utf-8")
    pptx_path.write_bytes(pptx)
    return [html_path, pptx_path]


def pack_zip(store: Engine | QueryContext, filters: Filters, images: bool = True) -> bytes:
    """The HTML report and the deck together in one .zip file (for a single download)."""
    pack, html, pptx = pack_files(store, filters, images=images)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{pack.file_stem}.html", html)
        z.writestr(f"{pack.file_stem}.pptx", pptx)
    return buffer.getvalue()
