"""What every page needs first: the frame (store check, sidebar filters) and this run's query context."""

from __future__ import annotations

from data_access.cached import QueryContext


def open_run() -> QueryContext:
    """This script run's query context: the engine, the data version (read once), the disclosure policy and the
    filters the sidebar shows, with the ICP area resolved. Every page calls it once, first, and passes what it
    returns to everything it asks data_access for; it draws the shared sidebar, however the page was opened."""
    from ui.shell import draw_shell

    return draw_shell()
