"""Charts: pure functions from tidy DataFrames to plotly figures or pydeck decks, with a sentence.

No Streamlit and no database here: every function takes data in and gives a `Chart` out.
"""

from charts.theme import Chart

__all__ = ["Chart"]
