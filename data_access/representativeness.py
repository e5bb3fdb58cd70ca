"""How representative the panel is: shares against residents, tolerance flags with 95% intervals,
and the summary measures (proportional similarity, representativeness score, largest gap, design effect).

Pure computation on aggregated frames (counts by group); no database and no Streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_access.disclosure import is_small, round_count, suppress_table, withhold_special_category
from data_access.weighting import (
    RakingError, effective_sample_size, kish_design_effect, people_weights, rake_table,
)

Z95 = 1.959963984540054

WITHIN = "Within tolerance"
UNDER = "Under-represented"
OVER = "Over-represented"
TOO_FEW = "Too few to tell"
NOT_STATED = "Not stated (left out of shares)"
WITHHELD = "Not shown (special-category data, too few people)"
HIDDEN_GROUPS = "Groups not shown (together)"


@dataclass(frozen=True)
class Tolerance:
    """How far a group's panel share may stray from its resident share: a ratio band and a gap in points.

    A group is within tolerance when its representation ratio is inside [low, high] AND its share
    is within gap_pp percentage points of the resident share.
    """

    low: float = 0.8
    high: float = 1.25
    gap_pp: float = 5.0

    def share_bounds(self, resident_share: float) -> tuple[float, float]:
        """The lowest and highest panel share within tolerance for a group with this resident share."""
        return (max(self.low * resident_share, resident_share - self.gap_pp / 100),
                min(self.high * resident_share, resident_share + self.gap_pp / 100))

    @property
    def label(self) -> str:
        """The tolerance in words."""
        return (f"a representation ratio between {self.low:.2f} and {self.high:.2f} and a share within "
                f"{self.gap_pp:g} percentage points of residents'")


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (95% by default); (nan, nan) when n is 0."""
    if not n:
        return float("nan"), float("nan")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def compare(counts: pd.DataFrame, residents: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Panel against residents per group, unsuppressed: group, count, share, residents, resident_share,
    ratio, gap_pp, stated. Groups residents are not counted in (not known, prefer not to say) are kept
    with stated=False and left out of the shares."""
    merged = pd.merge(counts[["group", "count"]], residents[["group", "residents"]], on="group", how="outer")
    merged["count"] = pd.to_numeric(merged["count"]).fillna(0).astype(int)
    merged["residents"] = pd.to_numeric(merged["residents"]).fillna(0).astype(float)
    merged["stated"] = merged["group"].isin(set(residents["group"]))
    stated = merged["stated"]
    n = merged.loc[stated, "count"].sum()
    res_total = merged.loc[stated, "residents"].sum()
    merged["share"] = (merged["count"] / n).where(stated & (n > 0))
    merged["resident_share"] = (merged["residents"] / res_total).where(stated & (res_total > 0))
    merged["ratio"] = (merged["share"] / merged["resident_share"]).where(merged["resident_share"] > 0)
    merged["gap_pp"] = (merged["share"] - merged["resident_share"]) * 100
    rank = {g: i for i, g in enumerate(order or [])}
    merged["_o"] = merged["group"].map(lambda g: rank.get(g, len(rank)))
    merged = merged.sort_values(["stated", "_o", "group"], ascending=[False, True, True]).drop(columns="_o")
    return merged.reset_index(drop=True)[
        ["group", "count", "share", "residents", "resident_share", "ratio", "gap_pp", "stated"]]


def assess(table: pd.DataFrame, tolerance: Tolerance) -> pd.DataFrame:
    """The comparison with a 95% interval for each panel share (low, high), the members short (-) or over (+)
    a fair share, and a status: within tolerance, under- or over-represented, or too few to tell
    (outside tolerance, but the interval still covers the resident share)."""
    out = table.copy()
    n = out.loc[out["stated"], "count"].sum()
    bounds = [wilson_interval(k, n) if s else (np.nan, np.nan) for k, s in zip(out["count"], out["stated"])]
    out["low"] = [b[0] for b in bounds]
    out["high"] = [b[1] for b in bounds]
    out["short_over"] = (out["count"] - out["resident_share"] * n).where(out["stated"])
    status = []
    for r in out.itertuples():
        if not r.stated:
            status.append(NOT_STATED)
            continue
        if pd.isna(r.resident_share) or pd.isna(r.share):
            status.append(TOO_FEW)
            continue
        lo, hi = tolerance.share_bounds(r.resident_share)
        if lo - 1e-12 <= r.share <= hi + 1e-12:
            status.append(WITHIN)
        elif r.low <= r.resident_share <= r.high:
            status.append(TOO_FEW)
        else:
            status.append(UNDER if r.share < r.resident_share else OVER)
    out["status"] = status
    return out


def for_display(table: pd.DataFrame, dimension: str | None = None) -> pd.DataFrame:
    """The assessed table as it may be published: the counts its 'hide' column marks (panel.coverage: hidden with
    everything the panel page publishes, in every view) or, without it, small counts and the next smallest where
    one hidden count could be worked out by subtraction from the total or from the number with a stated group
    (disclosure.suppress_table), and everything computed from them hidden; under the HES rule counts are rounded and shares, ratios, gaps and intervals worked out from the
    rounded counts. 'small' marks the counts hidden for
    being small (the others in 'suppressed' are hidden so they cannot be worked back). A breakdown by
    special-category data (ethnic group, disability) with too small a base is withheld whole (attrs['withheld'])."""
    raw = pd.to_numeric(table["count"], errors="coerce")
    stated_n = float(raw[table["stated"]].sum())
    if "hide" in table:  # which counts to hide, worked out with everything published with them (panel.coverage)
        out = suppress_table(table.drop(columns="hide"), "count", [], derived=("share", "ratio"), total=stated_n,
                             hide=table["hide"].astype(bool))
    else:
        out = suppress_table(table, "count", [(), "stated"], derived=("share", "ratio"), total=stated_n)
    out.attrs["stated_total"] = round_count(stated_n)
    out["small"] = raw.map(is_small).astype(bool)
    counts = out["count"].astype("Float64").astype(float)
    n = round_count(stated_n)
    out["gap_pp"] = (out["share"] - out["resident_share"]) * 100
    if {"low", "high"} <= set(out.columns):
        bounds = [wilson_interval(k, n) if s and not pd.isna(k) else (np.nan, np.nan)
                  for k, s in zip(counts, out["stated"])]
        out["low"] = [b[0] for b in bounds]
        out["high"] = [b[1] for b in bounds]
    if "short_over" in out:
        out["short_over"] = (counts - out["resident_share"] * n).where(out["stated"])
    if dimension is not None:
        out = withhold_special_category(out, dimension, stated_n, ["count"],
                                        ["share", "ratio", "gap_pp", "low", "high", "short_over"])
        if out.attrs.get("withheld"):
            out["small"] = False  # every count is hidden alike: none is singled out as small
            out["status"] = [NOT_STATED if not s else WITHHELD for s in out["stated"]]
    return out


def published(display: pd.DataFrame) -> pd.DataFrame:
    """A comparison table (as compare returns) built from the published figures only: the shown groups as they
    are, and the hidden stated groups together as one row (their total is the published total less the shown
    counts), so measures summarising the table cannot give a hidden count away."""
    stated = display[display["stated"]]
    counts = stated["count"].astype("Float64")
    shown = stated[counts.notna().to_numpy()]
    hidden = stated[counts.isna().to_numpy()]
    rows = [dict(group=g, count=int(c), residents=r) for g, c, r in
            zip(shown["group"], shown["count"], shown["residents"])]
    if len(hidden):
        rest = display.attrs.get("stated_total", 0) - int(counts.sum())
        rows.append(dict(group=HIDDEN_GROUPS, count=max(int(rest), 0), residents=float(hidden["residents"].sum())))
    frame = pd.DataFrame(rows, columns=["group", "count", "residents"])
    return compare(frame[["group", "count"]], frame[["group", "residents"]], list(frame["group"]))


def severity(ratio: float) -> float:
    """How far a ratio is from 1, the same above and below (|log ratio|; a group with nobody is the worst)."""
    if ratio is None or pd.isna(ratio):
        return float("nan")
    return float("inf") if ratio <= 0 else abs(math.log(ratio))


def gaps_to_close(tables: dict[str, pd.DataFrame], labels: dict[str, str]) -> pd.DataFrame:
    """Every under- or over-represented group across the dimensions, worst first (the ratio furthest from 1,
    then the biggest gap in points): dimension, group, count, share, low, high, resident_share, ratio,
    gap_pp, short_over, status."""
    rows = []
    for dim, t in tables.items():
        flagged = t[t["status"].isin([UNDER, OVER])].copy()
        flagged.insert(0, "dimension", labels.get(dim, dim))
        rows.append(flagged)
    if not rows:
        return pd.DataFrame()
    out = pd.concat(rows, ignore_index=True)
    if out.empty:
        return out
    out["_sev"] = out["ratio"].map(severity)
    out["_gap"] = out["gap_pp"].abs()
    out = out.sort_values(["_sev", "_gap"], ascending=[False, False]).drop(columns=["_sev", "_gap"])
    return out.reset_index(drop=True)


# --- Summary measures ------------------------------------------------------------------------


def proportional_similarity(share: pd.Series, resident_share: pd.Series) -> float:
    """Σ min(panel share, resident share) over groups = 1 - the dissimilarity index."""
    return float(np.minimum(share.fillna(0).to_numpy(), resident_share.fillna(0).to_numpy()).sum())


def dissimilarity_index(share: pd.Series, resident_share: pd.Series) -> float:
    """Half the sum of absolute differences in shares: the share of the panel that would have to move group."""
    return float(0.5 * np.abs(share.fillna(0).to_numpy() - resident_share.fillna(0).to_numpy()).sum())


def representativeness_score(counts: pd.Series, residents: pd.Series) -> float:
    """Go Vocal's score: the lowest participation rate divided by the highest (rate = members / residents)."""
    ok = residents > 0
    rates = counts[ok] / residents[ok]
    if rates.empty or rates.max() <= 0:
        return float("nan")
    return float(rates.min() / rates.max())


def summary(table: pd.DataFrame) -> dict:
    """Summary measures of one dimension from its comparison table (stated groups only)."""
    known = table[table["stated"]]
    rates = (known["count"] / known["residents"]).where(known["residents"] > 0)
    gap = known["gap_pp"].abs()
    out = {
        "similarity": proportional_similarity(known["share"], known["resident_share"]),
        "score": representativeness_score(known["count"], known["residents"]),
        "lowest_rate_group": known.loc[rates.idxmin(), "group"] if rates.notna().any() else None,
        "highest_rate_group": known.loc[rates.idxmax(), "group"] if rates.notna().any() else None,
        "largest_gap_pp": float(gap.max()) if gap.notna().any() else float("nan"),
        "largest_gap_group": known.loc[gap.idxmax(), "group"] if gap.notna().any() else None,
        "largest_gap_signed": float(known.loc[gap.idxmax(), "gap_pp"]) if gap.notna().any() else float("nan"),
        "not_stated": int(table.loc[~table["stated"], "count"].sum()),
        "n": int(known["count"].sum()),
    }
    if known["count"].sum() == 0:
        out["similarity"] = float("nan")
    return out


@dataclass(frozen=True)
class WeightingResult:
    """Kish design effect and effective sample size of weights raking the panel to resident margins."""

    design_effect: float
    effective_n: float
    weighted: int
    left_out: int
    note: str = ""


def rake_cells(cells: pd.DataFrame, margins: dict[str, pd.Series]) -> WeightingResult:
    """Rake panel members (given as cells: one column per dimension and n) to resident margins
    (dimension -> residents by group); members with an unstated group on any of them are left out."""
    total = int(cells["n"].sum()) if len(cells) else 0
    try:
        result = rake_table(cells.reset_index(drop=True), margins)  # on the cells: everyone in one has one weight
    except RakingError as exc:
        return WeightingResult(float("nan"), float("nan"), 0, total, str(exc))
    w = people_weights(cells.reset_index(drop=True), result.weights)
    note = "" if result.converged else "The weights did not fully settle; the figures are approximate."
    return WeightingResult(kish_design_effect(w), effective_sample_size(w), len(w), total - len(w), note)


def published_summary(display: pd.DataFrame) -> dict:
    """summary() of a table as published (for_display): worked out from the published figures only (see
    published); nothing for a withheld special-category breakdown or one whose groups are all hidden; 'not stated'
    missing where hidden."""
    table = published(display)
    if display.attrs.get("withheld") or len(table) < 2:  # withheld, or every group hidden: nothing to compare
        return dict(similarity=float("nan"), score=float("nan"), lowest_rate_group=None, highest_rate_group=None,
                    largest_gap_pp=float("nan"), largest_gap_group=None, largest_gap_signed=float("nan"),
                    not_stated=float("nan"), n=0)
    s = summary(table)
    for key in ("lowest_rate_group", "highest_rate_group", "largest_gap_group"):
        if s[key] == HIDDEN_GROUPS:
            s[key] = "groups not shown"
    unstated = display.loc[~display["stated"], "count"]
    s["not_stated"] = float("nan") if unstated.isna().any() else float(unstated.astype(float).sum())
    return s


def summary_table(tables: dict[str, pd.DataFrame], design: pd.DataFrame, labels: dict[str, str],
                  display: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Summary measures per dimension and overall: label, similarity, score, lowest/highest rate group,
    largest gap, design effect, effective sample size, weighted, not stated. The overall row averages the
    similarity over the dimensions, takes the lowest score and the largest gap, and rakes on every dimension.
    With `display` (the tables as published, for_display) the measures are worked out from the published
    figures only (published_summary), so none can give a hidden count away."""
    d = design.set_index("dimension") if len(design) else pd.DataFrame()
    rows = []
    for dim, table in tables.items():
        s = summary(table) if display is None else published_summary(display[dim])
        s.update(dimension=dim, label=labels.get(dim, dim))
        withheld = display is not None and bool(display[dim].attrs.get("withheld"))
        for col in ("design_effect", "effective_n", "weighted"):
            s[col] = d.loc[dim, col] if dim in d.index and not withheld else float("nan")
        rows.append(s)
    out = pd.DataFrame(rows)
    scored = out.dropna(subset=["score"])
    gapped = out.dropna(subset=["largest_gap_pp"])
    worst = scored.loc[scored["score"].idxmin()] if len(scored) else None
    widest = gapped.loc[gapped["largest_gap_pp"].idxmax()] if len(gapped) else None
    overall = dict(
        dimension="all", label="Overall", similarity=out["similarity"].mean(),
        score=worst["score"] if worst is not None else float("nan"),
        score_dimension=worst["label"] if worst is not None else None,
        lowest_rate_group=worst["lowest_rate_group"] if worst is not None else None,
        highest_rate_group=worst["highest_rate_group"] if worst is not None else None,
        largest_gap_pp=widest["largest_gap_pp"] if widest is not None else float("nan"),
        largest_gap_signed=widest["largest_gap_signed"] if widest is not None else float("nan"),
        largest_gap_group=widest["largest_gap_group"] if widest is not None else None,
        gap_dimension=widest["label"] if widest is not None else None,
        not_stated=float("nan"), n=int(out["n"].max()) if len(out) else 0,
        design_effect=d.loc["all", "design_effect"] if "all" in d.index else float("nan"),
        effective_n=d.loc["all", "effective_n"] if "all" in d.index else float("nan"),
        weighted=int(d.loc["all", "weighted"]) if "all" in d.index else 0,
        note=d.loc["all", "note"] if "all" in d.index else "")
    return pd.concat([out, pd.DataFrame([overall])], ignore_index=True)
