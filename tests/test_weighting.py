"""Raking and the design effect, against answers worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from data_access.weighting import (
    RakingError, effective_sample_size, kish_design_effect, rake, weighted_shares,
)


def test_one_margin_weights_are_target_over_sample_share():
    # 3 young, 1 old; residents half and half: young weight (0.5/0.75), old weight (0.5/0.25), then mean 1.
    sample = pd.DataFrame({"age": ["young", "young", "young", "old"]})
    result = rake(sample, {"age": pd.Series({"young": 500, "old": 500})})
    raw = np.array([2 / 3, 2 / 3, 2 / 3, 2.0])
    assert result.weights.tolist() == pytest.approx((raw / raw.mean()).tolist())
    assert result.converged


def test_two_margins_are_met_within_a_millionth():
    rng = np.random.default_rng(1)
    sample = pd.DataFrame({
        "age": rng.choice(["16-34", "35-64", "65+"], size=500, p=[0.15, 0.45, 0.40]),
        "sex": rng.choice(["Female", "Male"], size=500, p=[0.62, 0.38]),
        "imd": rng.choice(["1", "2", "3", "4", "5"], size=500, p=[0.08, 0.17, 0.25, 0.25, 0.25]),
    })
    margins = {"age": pd.Series({"16-34": 0.30, "35-64": 0.48, "65+": 0.22}),
               "sex": pd.Series({"Female": 0.51, "Male": 0.49}),
               "imd": pd.Series({"1": 0.2, "2": 0.2, "3": 0.2, "4": 0.2, "5": 0.2})}
    result = rake(sample, margins)
    for dim, target in margins.items():
        got = weighted_shares(sample[dim], result.weights)
        assert got.reindex(target.index).tolist() == pytest.approx(target.tolist(), abs=1e-6)
    assert result.weights.mean() == pytest.approx(1.0)


def test_unknown_groups_get_no_weight():
    sample = pd.DataFrame({"sex": ["Female", "Male", "Prefer not to say"]})
    result = rake(sample, {"sex": pd.Series({"Female": 1, "Male": 1})})
    assert np.isnan(result.weights.iloc[2]) and result.weights.iloc[:2].tolist() == [1.0, 1.0]


def test_a_group_nobody_is_in_cannot_be_raked():
    sample = pd.DataFrame({"age": ["old", "old"]})
    with pytest.raises(RakingError, match="No one in the sample is in young"):
        rake(sample, {"age": pd.Series({"young": 1, "old": 1})})


def test_kish_design_effect_and_effective_sample_size():
    w = [1, 1, 2, 4]
    # n Σw² / (Σw)² = 4 * 22 / 64 = 1.375; ESS = 64 / 22
    assert kish_design_effect(w) == pytest.approx(1.375)
    assert effective_sample_size(w) == pytest.approx(64 / 22)
    # 1 + relative variance (population variance / mean²)
    arr = np.array(w, dtype=float)
    assert kish_design_effect(w) == pytest.approx(1 + arr.var() / arr.mean() ** 2)
    assert kish_design_effect([2, 2, 2]) == pytest.approx(1.0)


# --- Raking on cells against a published implementation (samplics' SampleWeight.rake) ----------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from data_access.weighting import people_weights, rake_table  # noqa: E402

AGES, SEXES, QUINTILES = ["16-34", "35-64", "65+"], ["Female", "Male"], ["1", "2", "3"]
GRID = [(a, s, q) for a in AGES for s in SEXES for q in QUINTILES]


@settings(max_examples=25, deadline=None)
@given(n=st.lists(st.integers(1, 40), min_size=len(GRID), max_size=len(GRID)),
       unknown=st.integers(0, 9),
       ages=st.lists(st.integers(1, 1000), min_size=3, max_size=3),
       sexes=st.lists(st.integers(1, 1000), min_size=2, max_size=2),
       quintiles=st.lists(st.integers(1, 1000), min_size=3, max_size=3))
def test_raking_on_cells_matches_samplics(n, unknown, ages, sexes, quintiles):
    """rake_table's weight per person in each cell is samplics' (SampleWeight.rake, given the same cells with their
    counts as starting weights and the residents' margins as controls), normalised to mean 1 over the people
    weighted; a cell of unknown age is left out."""
    from samplics.weighting import SampleWeight

    cells = pd.DataFrame(GRID, columns=["age", "sex", "quintile"]).assign(n=n)
    cells = pd.concat([cells, pd.DataFrame([{"age": "Not known", "sex": "Female", "quintile": "1", "n": unknown}])],
                      ignore_index=True)
    margins = {"age": pd.Series(ages, index=AGES), "sex": pd.Series(sexes, index=SEXES),
               "quintile": pd.Series(quintiles, index=QUINTILES)}
    ours = rake_table(cells, margins)
    assert ours.converged and ours.weights.iloc[-1] != ours.weights.iloc[-1]  # the unknown cell: no weight (NaN)
    known = cells.iloc[:len(GRID)]
    control = {d: (v / v.sum() * 1000.0).to_dict() for d, v in margins.items()}  # one total for every margin
    theirs = SampleWeight().rake(known["n"].to_numpy(dtype=float), {d: known[d].to_numpy() for d in margins},
                                 control=control, tol=1e-13, ctrl_tol=1e-13, max_iter=10_000)
    per_person = theirs / known["n"].to_numpy()
    per_person = per_person / (per_person * known["n"]).sum() * known["n"].sum()  # mean 1 over the people
    np.testing.assert_allclose(ours.weights.iloc[:len(GRID)].to_numpy(), per_person, rtol=1e-6)
    # and the design effect from the cells' weights is Kish's over one weight per person
    w = np.repeat(per_person, known["n"].to_numpy())
    assert kish_design_effect(people_weights(cells, ours.weights)) == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2)
