"""The board pack as one self-contained HTML file: plotly.js is embedded, so it works offline and opens in any
browser; the charts stay interactive; the page prints cleanly to PDF (one section per page where it fits)."""

from __future__ import annotations

from html import escape

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from board_pack.content import READING_TARGET_WORDS, Pack
from charts.spc import COLOURS
from charts.theme import NHS_BLUE, NHS_DARK_BLUE

CSS = f"""
body{{font-family:Arial,Helvetica,sans-serif;color:#212B32;margin:0;background:#fff;font-size:18px;line-height:1.5}}
header{{background:{NHS_BLUE};color:#fff;padding:24px 40px}}
header h1{{margin:0 0 4px 0;font-size:32px}} header p{{margin:0;font-size:20px}}
main{{padding:8px 40px 40px 40px;max-width:1300px}}
h2{{color:{NHS_DARK_BLUE};font-size:26px;margin:28px 0 8px 0}}
.rule{{border-left:6px solid {NHS_BLUE};background:#E8EDEE;padding:10px 16px;margin:16px 0}}
.note{{color:#4C6272;font-size:16px}}
table{{border-collapse:collapse;width:100%;margin:8px 0}}
th,td{{border:1px solid #AEB7BD;padding:6px 10px;text-align:left;vertical-align:top}}
th{{background:#E8EDEE}}
td.value{{font-size:24px;font-weight:bold;white-space:nowrap}}
.verdict{{font-weight:bold}}
.sentence{{font-size:20px;margin:8px 0}}
.source{{color:#4C6272;font-size:16px;margin:4px 0 8px 0}}
section.chart{{page-break-inside:avoid;break-inside:avoid;border-top:2px solid #E8EDEE;margin-top:24px}}
details{{margin:4px 0 12px 0}} summary{{cursor:pointer;color:{NHS_BLUE}}}
@media print{{
  header{{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
  section.chart{{page-break-before:always;break-before:page}}
  details{{display:none}}
  main{{padding:0 16px}}
}}
"""


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th scope='col'>{escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{'' if pd.isna(v) else escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _headlines(pack: Pack) -> str:
    rows = []
    for h in pack.headlines:
        verdict = ""
        if h.verdict is not None:
            colour = COLOURS.get(h.verdict.result.variation, "#425563")
            verdict = (f"<br><span class='verdict'><span style='color:{colour}' aria-hidden='true'>●</span> "
                       f"{escape(h.verdict.label)}</span>")
        rows.append(f"<tr><th scope='row'>{escape(h.label)}</th><td class='value'>{escape(h.value)}</td>"
                    f"<td>{escape(h.note)}{verdict}</td><td class='note'>{escape(h.definition)}</td></tr>")
    return ("<table><thead><tr><th scope='col'>Figure</th><th scope='col'>Value</th><th scope='col'>Beside it</th>"
            "<th scope='col'>What it counts</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def render_html(pack: Pack) -> str:
    """The pack as a complete HTML document (UTF-8 text), with plotly.js inline."""
    parts = [f"<header><h1>{escape(pack.title)}</h1><p>{escape(pack.subtitle)}. Made on "
             f"{pack.made_on:%-d %B %Y}.</p></header><main>"]
    for note in pack.notes:
        parts.append(f"<p class='note'>{escape(note)}</p>")
    parts.append(f"<p class='rule'><strong>Small numbers.</strong> {escape(pack.rule)}</p>")
    parts.append("<h2>Key messages</h2><ul>" + "".join(f"<li class='sentence'>{escape(m)}</li>"
                                                       for m in pack.messages) + "</ul>")
    parts.append(f"<p class='note'>{escape(READING_TARGET_WORDS)} These score {pack.reading_ease:.0f}.</p>")
    parts.append("<h2>Headline figures</h2>" + _headlines(pack))
    parts.append("<p class='note'>Verdicts are NHS England's Making Data Count statistical process control: "
                 "≈ common cause (no significant change); ▲ or ▼ a significant rise or fall (special cause).</p>")
    parts.append("<h2>Reach gaps to act on</h2>")
    if pack.gaps:
        parts.append("<ol>" + "".join(f"<li class='sentence'>{escape(g.sentence)} <span class='note'>(See the "
                                      f"{escape(g.page)} page of the dashboard.)</span></li>" for g in pack.gaps)
                     + "</ol>")
        parts.append("<p class='note'>Ranked by the shortfall: the group's share of residents minus its share of the "
                     "people we reached, in percentage points. Only gaps too big to be chance are listed.</p>")
    else:
        parts.append("<p class='sentence'>No clear reach gaps were found.</p>")
    for i, s in enumerate(pack.sections, start=1):
        parts.append(f"<section class='chart'><h2>{i}. {escape(s.title)}</h2>")
        if s.chart.figure is not None:
            parts.append(pio.to_html(s.chart.figure, full_html=False, include_plotlyjs=False, div_id=f"chart-{i}",
                                     config={"displaylogo": False, "responsive": True}))
        parts.append(f"<p class='sentence'>{escape(s.chart.sentence)}</p>")
        parts.append(f"<p class='source'>Source: {escape(s.source)}. Period: {escape(s.period)}. "
                     f"{escape(pack.rule)}</p>")
        if not s.chart.data.empty:
            parts.append(f"<details><summary>The data behind this chart</summary>{_table(s.chart.data)}</details>")
        parts.append("</section>")
    parts.append("</main>")
    return ("<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(pack.title)}: {escape(pack.subtitle)}</title><style>{CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
            + "".join(parts) + "</body></html>")
