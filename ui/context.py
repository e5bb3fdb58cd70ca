"""What every page needs first: the current filters, however the page was opened."""

from __future__ import annotations

import threading

from data_access.filters import Filters

# One script run happens on one thread: app.py hands the filters over, the page takes them.
# (Session State is not used for this: removing a key from it mid-run upsets widget state.)
_run = threading.local()


def hand_over(filters: Filters) -> None:
    """Called by app.py each run, just before it runs the chosen page."""
    _run.filters = filters


def current_filters() -> Filters:
    """The filters for this run (call once per page run).

    Normally app.py has drawn them and handed them over. If the page is being run on its own
    (Streamlit's older multipage mode can do that for a page opened by its address), the page
    draws the same sidebar itself, so the filters are always there.
    """
    filters = getattr(_run, "filters", None)
    _run.filters = None
    if filters is None:
        from ui.shell import draw_shell

        filters = draw_shell()
    return filters
