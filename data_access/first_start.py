"""The first start: an empty store gets Kent and Medway's real small areas, then demo engagement data on them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from data_access import models as m
from data_access.db import PROJECT_ROOT

SHIPPED_REFERENCE = PROJECT_ROOT / "data" / "reference"


def is_empty(engine: Engine) -> bool:
    """True when the store holds no small areas (nothing has been loaded yet)."""
    with engine.connect() as conn:
        return conn.execute(select(m.Lsoa.code).limit(1)).first() is None


def fill_empty_store(engine: Engine, reference: Path = SHIPPED_REFERENCE) -> str | None:
    """Fill an empty store: the shipped reference data (through the same importer a user runs), then demo
    engagement data on those areas; a synthetic geography only if the reference folder is missing. Returns what
    was done, or None when the store already held data."""
    from data_access.demo import seed_demo
    from data_access.reference_import import import_reference

    if not is_empty(engine):
        return None
    lines = []
    if reference.is_dir():
        report = import_reference(engine, reference)
        totals = report.totals
        lines.append(f"Loaded the reference data in {reference} ({report.edition}): {totals.get('lsoas', 0):,} small "
                     f"areas in {totals.get('local_authorities', 0)} local authorities and "
                     f"{totals.get('icp_areas', 0)} ICP areas.")
    else:
        lines.append(f"No reference data at {reference}: the demo data uses a synthetic geography.")
    lines.append(seed_demo(engine))
    return " ".join(lines)
