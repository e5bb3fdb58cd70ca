"""Words in sentences: one helper lower-cases a label's start, leaving acronyms alone."""

from __future__ import annotations

import pandas as pd

from charts.representation import representation_sentence
from charts.words import lower_first


def test_lower_first_leaves_acronyms():
    assert lower_first("ICP area") == "ICP area"
    assert lower_first("Age band") == "age band"
    assert lower_first("Ethnic group") == "ethnic group"
    assert lower_first("IMD decile") == "IMD decile"
    assert lower_first("A") == "a"
    assert lower_first("") == ""


def test_representation_sentence_by_icp_area():
    rep = pd.DataFrame({
        "group": ["East Kent", "West Kent"], "stated": [True, True], "count": [30, 70],
        "share": [0.30, 0.70], "resident_share": [0.60, 0.40], "ratio": [0.5, 1.75]})
    text = representation_sentence(rep, "respondents", "ICP area", "Kent and Medway")
    assert text.startswith("By ICP area in Kent and Medway: East Kent are 60% of residents but 30% of respondents "
                           "(ratio 0.50, the least well represented); West Kent are 40% of residents and 70% of "
                           "respondents (ratio 1.75).")
