"""The analysis table and the correlation table on shipped and synthetic data."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from xdist.analyses import CORRELATION_COLUMNS, analysis_frame, correlate
from xdist.caveats import DataCaveatWarning, collect_caveats
from xdist.distances import distances
from xdist.results import load_shipped_results, validate_results

FAST = dict(n_boot=1000, n_perm=199)


@pytest.fixture(scope="module")
def shipped():
    return load_shipped_results()


@pytest.fixture(scope="module")
def udpos(shipped):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataCaveatWarning)
        return analysis_frame(shipped, tasks=["UD-POS"])


def test_frame_columns_and_values(udpos, shipped):
    for col in ("task", "model", "language", "degradation", "degradation_relative", "syntactic",
                "genetic", "log_size", "family", "distance_codes", "n_seeds"):
        assert col in udpos
    assert udpos["language"].nunique() == 104 and "en" not in set(udpos["language"])
    de = udpos.set_index("language").loc["de"]
    raw = shipped[(shipped.target_task == "UD-POS") & (shipped.source_language == "en")]
    raw = raw.set_index("language")["score"]
    assert de["degradation"] == pytest.approx(raw["en"] - raw["de"])
    ref = distances(["de"], source="en", kinds=["syntactic"])["distance"].iloc[0]
    assert de["syntactic"] == pytest.approx(ref)
    # log_size: XLM-R CC-100 sizes; languages outside CC-100 get 0
    assert de["log_size"] > 3
    assert udpos.set_index("language").loc["akk", "log_size"] == 0


def test_seeds_are_averaged_per_language():
    rows = []
    for seed, scores in ((1, [80, 70, 60]), (2, [82, 70, 64])):
        for lang, s in zip(["en", "de", "sw"], scores):
            rows.append(dict(model="m", setting="zero-shot", intermediate_task="",
                             target_task="T", language=lang, metric="accuracy", score=s,
                             seed=seed, source="t"))
    res = validate_results(pd.DataFrame(rows))
    fr = analysis_frame(res).set_index("language")
    assert fr.loc["de", "degradation"] == pytest.approx(11.0)
    assert fr.loc["sw", "degradation"] == pytest.approx(19.0)
    assert fr.loc["sw", "n_seeds"] == 2


def test_correlate_table_shape_and_adjustment(shipped):
    with collect_caveats() as notes:
        tab = correlate(shipped, tasks=["XNLI", "PAWS-X"], **FAST)
    assert list(tab.columns[: len(CORRELATION_COLUMNS)]) == CORRELATION_COLUMNS
    assert set(tab["method"]) == {"pearson", "spearman", "kendall"}
    assert tab["distance"].nunique() == 6
    ok = tab["p_value"].notna()
    expected = multipletests(tab.loc[ok, "p_value"], method="holm")[1]
    np.testing.assert_allclose(tab.loc[ok, "p_adjusted"], expected)
    assert (tab["distance_codes"] == "individual").all()
    assert any("fewer than 10 target languages" in n for n in notes)
    assert any("excluded" in n for n in notes)


def test_correlate_estimate_matches_scipy(udpos, shipped):
    tab = correlate(shipped, tasks=["UD-POS"], distances=["syntactic"], seed=3, **FAST)
    est = tab.set_index("method")["estimate"]
    d = udpos.dropna(subset=["syntactic", "degradation"])
    assert est["spearman"] == pytest.approx(sps.spearmanr(d.syntactic, d.degradation)[0])
    assert est["pearson"] == pytest.approx(sps.pearsonr(d.syntactic, d.degradation)[0])
    assert est["kendall"] == pytest.approx(sps.kendalltau(d.syntactic, d.degradation)[0])
    assert (tab["n"] == len(d)).all()


def test_udpos_matches_published_analysis(shipped):
    """shared/guides/statistics.md: on de Vries et al.'s POS data, Spearman's rho between syntactic
    distance and degradation has a 95% interval of about [0.41, 0.71] resampling languages and
    about [-0.08, 0.73] resampling the 21 families."""
    kw = dict(tasks=["UD-POS"], distances=["syntactic"], methods=["spearman"], seed=0,
              ci="percentile", n_boot=4000, n_perm=199)
    lang = correlate(shipped, **kw).iloc[0]
    fam = correlate(shipped, cluster="family", **kw).iloc[0]
    assert lang["estimate"] == pytest.approx(0.54, abs=0.01)
    assert lang["ci_low"] == pytest.approx(0.41, abs=0.1)
    assert lang["ci_high"] == pytest.approx(0.71, abs=0.03)
    assert fam["resample_unit"] == "family" and fam["n_clusters"] < lang["n"]
    assert fam["ci_low"] == pytest.approx(-0.08, abs=0.05)
    assert fam["ci_high"] == pytest.approx(0.73, abs=0.06)


def test_missing_uriel_data_is_left_out_unless_imputed(shipped):
    kw = dict(tasks=["UD-POS"], distances=["syntactic"], methods=["spearman"], n_boot=200,
              n_perm=0)
    with collect_caveats() as notes:
        left_out = correlate(shipped, **kw).iloc[0]
    assert any("no URIEL data" in n and "left out" in n for n in notes)
    imputed = correlate(shipped, impute_distances=True, **kw).iloc[0]
    assert left_out["n"] < imputed["n"] == 104


def test_same_seed_same_table(shipped):
    kw = dict(tasks=["MLQA"], methods=["spearman"], **FAST)
    a = correlate(shipped, seed=11, **kw)
    b = correlate(shipped, seed=11, **kw)
    pd.testing.assert_frame_equal(a, b)


def test_lang2vec_codes_change_arabic(shipped):
    kw = dict(tasks=["XNLI"], models=["XLM-R Base"], distances=["syntactic"],
              methods=["pearson"], **FAST)
    ind = correlate(shipped, **kw)
    pub = correlate(shipped, codes="lang2vec", **kw)
    assert (pub["distance_codes"] == "lang2vec").all()
    assert not np.allclose(ind["estimate"], pub["estimate"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(methods=["spearmann"]), r"method='spearmann' is not a known method.*did you mean"),
        (dict(distances=["syntax"]), r"distance='syntax' is not a known distance kind"),
        (dict(ci="bc"), r"ci='bc' is not a known interval method"),
        (dict(cluster="genus"), r"cluster='genus' is not a known resampling unit"),
        (dict(control="size"), r"control='size' is not a known covariate"),
        (dict(n_boot=10), r"n_boot=10 is not valid"),
        (dict(seed=-1), r"seed=-1 is not valid"),
        (dict(tasks=["XNIL"]), r"task='XNIL' is not a known task.*did you mean 'XNLI'"),
    ],
)
def test_correlate_bad_arguments(shipped, kwargs, match):
    with pytest.raises(ValueError, match=match):
        correlate(shipped, **kwargs)
