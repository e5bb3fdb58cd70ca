"""Start the dashboard: `python -m ui.launch [streamlit options]` (what scripts/start.sh and
`engagement serve` run).

app.py declares its pages with st.navigation. Because the page files live in a folder called
pages/, Streamlit would treat the very first request after the server starts in its older
multipage mode, and a page opened by its address would flash a "Page not found" notice before
app.py put it right. Streamlit leaves that mode as soon as st.navigation runs; this launcher
leaves it before the server starts, so even the first request goes through app.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def prepare_store() -> None:
    """On first start (an empty store), load the shipped Kent and Medway reference data and demo engagement data
    before the server starts, saying so on the console; a store that cannot be opened is left for the pages to
    explain."""
    try:
        from data_access.db import database_url, init_db, make_engine
        from data_access.first_start import fill_empty_store, is_empty

        engine = make_engine(database_url())
        init_db(engine)
        if is_empty(engine):
            print("First start: loading Kent and Medway's reference data and demo engagement data (a few seconds).",
                  flush=True)
            print(fill_empty_store(engine), flush=True)
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - the pages say what is wrong with the store
        print(f"The store could not be prepared ({exc.__class__.__name__}: {exc})".splitlines()[0] + ".", flush=True)


def check_settings() -> None:
    """Say on the console, before the server starts, where a setting is not understood (e.g. DISCLOSURE_RULE)."""
    from data_access.disclosure import rule_warning

    warning = rule_warning()
    if warning:
        print(f"Warning: {warning}", flush=True)


def main() -> int:
    """Run `streamlit run app.py` with the given options, in navigation mode from the start."""
    check_settings()
    prepare_store()
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except (ImportError, AttributeError):  # a future Streamlit without it: app.py still works
        pass
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return stcli.main()


if __name__ == "__main__":
    sys.exit(main())
