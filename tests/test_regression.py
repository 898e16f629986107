"""Tests of xdist.stats.regression against R (lm, sandwich, lmtest) and statsmodels.

Golden values: tests/fixtures/r_regression/make_golden.R (R is not needed to
run these tests; the script and its input are kept beside the CSV files).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from xdist.stats.regression import (
    COEFFICIENT_COLUMNS,
    FIT_COLUMNS,
    RegressionResult,
    RegressionWarning,
    ols,
)

FIXTURES = Path(__file__).parent / "fixtures" / "r_regression"
FORMULA_A = "degradation ~ syntactic + geographic + log_size"
FORMULA_C = "degradation ~ syntactic + log_size"

# Each golden case, as an ols call.  "group" is the by value ("" when pooled).
CASES = {
    "A_classical": dict(formula=FORMULA_A),
    "A_hc1": dict(formula=FORMULA_A, se="HC1"),
    "A_cr1_lang": dict(formula=FORMULA_A, cluster="lang"),
    "B_cr1_family": dict(formula=FORMULA_A, cluster="family"),
    "B_wild_family": dict(
        formula=FORMULA_A, cluster="family", small_sample="wild", weights="rademacher"
    ),
    "C_cr1_task": dict(formula=FORMULA_C, cluster="family", by="task"),
    "C_wild_task": dict(
        formula=FORMULA_C, cluster="family", by="task", small_sample="wild",
        weights="rademacher",
    ),
    "D_task_fe": dict(formula="degradation ~ syntactic + log_size + C(task)", cluster="lang"),
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "input.csv")


@pytest.fixture(scope="module")
def golden() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "golden_coefficients.csv", keep_default_na=False,
                       na_values=["NA"])


@pytest.fixture(scope="module")
def golden_fit() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "golden_fit.csv", keep_default_na=False, na_values=["NA"])


def _r_term(term: str) -> str:
    """patsy column name -> R coefficient name."""
    if term == "Intercept":
        return "(Intercept)"
    if term.startswith("C(task)[T."):
        return "task" + term[len("C(task)[T."):-1]
    return term


def _fit_case(data, case):
    kw = dict(CASES[case])
    formula = kw.pop("formula")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegressionWarning)
        return ols(data, formula, **kw)


def _merge(res: RegressionResult, golden: pd.DataFrame, case: str) -> pd.DataFrame:
    ours = res.coefficients.copy()
    ours["group"] = ours["task"] if "task" in ours else ""
    ours["term"] = ours["term"].map(_r_term)
    ref = golden[golden["case"] == case]
    merged = ours.merge(ref, on=["group", "term"], suffixes=("", "_r"), validate="1:1")
    assert len(merged) == len(ref) == len(ours)
    return merged


# ------------------------------------------------------------ against R


@pytest.mark.parametrize("case", [c for c in CASES if "wild" not in c])
def test_analytic_inference_matches_r(data, golden, case):
    m = _merge(_fit_case(data, case), golden, case)
    for col in ["estimate", "se", "ci_low", "ci_high", "std_estimate"]:
        np.testing.assert_allclose(m[col], m[col + "_r"], rtol=1e-9, err_msg=col)
    np.testing.assert_allclose(m["p_value"], m["p_value_r"], rtol=1e-7, atol=1e-14)
    np.testing.assert_allclose(m["vif"], m["vif_r"], rtol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(m["df_resid"], m["df_resid_r"])
    np.testing.assert_array_equal(m["n"], m["n_r"])
    assert (m["se_type"] == m["se_type_r"]).all()
    assert (m["inference"] == m["inference_r"]).all()


@pytest.mark.parametrize("case", ["B_wild_family", "C_wild_task"])
def test_wild_enumeration_matches_r(data, golden, case):
    """All 2^G Rademacher sign vectors in both: p-values agree exactly."""
    res = _fit_case(data, case)
    assert (res.coefficients["boot_weights"] == "rademacher-enumerated").all()
    assert (res.coefficients["n_boot"] == 2 ** res.coefficients["n_clusters"]).all()
    m = _merge(res, golden, case)
    np.testing.assert_allclose(m["se"], m["se_r"], rtol=1e-9)
    # p-values are counts / 2^G: equal up to rounding of the division
    np.testing.assert_allclose(m["p_value"], m["p_value_r"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(m["ci_low"], m["ci_low_r"], rtol=1e-8)
    np.testing.assert_allclose(m["ci_high"], m["ci_high_r"], rtol=1e-8)
    assert (m["inference"] == "wild-cluster-bootstrap-t").all()
    assert m["df_resid"].isna().all()


@pytest.mark.parametrize("case", ["A_classical", "A_cr1_lang", "C_cr1_task", "D_task_fe"])
def test_fit_statistics_match_r(data, golden_fit, case):
    res = _fit_case(data, case)
    ours = res.fit.copy()
    ours["group"] = ours["task"] if "task" in ours else ""
    m = ours.merge(golden_fit[golden_fit["case"] == case], on="group", suffixes=("", "_r"))
    assert len(m) == len(res.fit) > 0
    for col in ["r2", "adj_r2", "aic", "bic", "loglik", "sigma"]:
        np.testing.assert_allclose(m[col], m[col + "_r"], rtol=1e-10, err_msg=col)
    np.testing.assert_array_equal(m["n"], m["n_r"])
    np.testing.assert_array_equal(m["k"], m["k_r"])
    np.testing.assert_allclose(m["n_clusters"], m["n_clusters_r"], equal_nan=True)


# ------------------------------------------------------------ against statsmodels


@pytest.mark.parametrize("cluster", ["lang", "family"])
def test_cr1_matches_statsmodels(data, cluster):
    res = _fit_case(data, "A_cr1_lang" if cluster == "lang" else "B_cr1_family")
    sm = smf.ols(FORMULA_A, data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data[cluster])[0]}, use_t=True
    )
    c = res.coefficients
    np.testing.assert_allclose(c["estimate"], sm.params.values, rtol=1e-10)
    np.testing.assert_allclose(c["se"], sm.bse.values, rtol=1e-10)
    np.testing.assert_allclose(c["p_value"], sm.pvalues.values, rtol=1e-8)
    np.testing.assert_allclose(c[["ci_low", "ci_high"]], sm.conf_int().values, rtol=1e-10)
    assert (c["df_resid"] == sm.df_resid_inference).all()
    # the CR1 factor G/(G-1) (N-1)/(N-K) times the CR0 sandwich
    cr0 = smf.ols(FORMULA_A, data).fit(
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(data[cluster])[0], "use_correction": False},
    )
    n, k, g = len(data), 4, data[cluster].nunique()
    factor = g / (g - 1) * (n - 1) / (n - k)
    np.testing.assert_allclose(c["se"] ** 2, factor * cr0.bse.values**2, rtol=1e-10)


def test_hc1_is_cr1_with_singleton_clusters(data):
    hc1 = _fit_case(data, "A_hc1").coefficients
    single = ols(data.assign(row=np.arange(len(data))), FORMULA_A, cluster="row")
    np.testing.assert_allclose(hc1["se"], single.coefficients["se"], rtol=1e-12)


def test_normal_reference(data):
    c = ols(data, FORMULA_A, cluster="lang", small_sample=None).coefficients
    sm = smf.ols(FORMULA_A, data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["lang"])[0]}
    )
    np.testing.assert_allclose(c["p_value"], sm.pvalues.values, rtol=1e-8)
    assert (c["inference"] == "normal").all() and np.isinf(c["df_resid"]).all()


# ------------------------------------------------------------ shape, vocabulary, seeds


def test_columns_and_types(data):
    res = _fit_case(data, "C_cr1_task")
    assert isinstance(res, RegressionResult)
    assert list(res.coefficients.columns) == ["task", *COEFFICIENT_COLUMNS]
    assert list(res.fit.columns) == ["task", *FIT_COLUMNS]
    assert len(res.fit) == data["task"].nunique()
    assert len(res.coefficients) == 3 * data["task"].nunique()
    for col in ["estimate", "se", "ci_low", "ci_high", "p_value", "std_estimate", "vif",
                "n_clusters", "df_resid"]:
        assert pd.api.types.is_float_dtype(res.coefficients[col]), col
    assert pd.api.types.is_integer_dtype(res.coefficients["n"])
    intercept = res.coefficients["term"] == "Intercept"
    assert res.coefficients.loc[intercept, ["std_estimate", "vif"]].isna().all().all()
    assert "groups=4" in repr(res)


def test_pooled_has_no_group_columns(data):
    res = _fit_case(data, "A_cr1_lang")
    assert list(res.coefficients.columns) == list(COEFFICIENT_COLUMNS)
    assert res.by == () and res.cluster == "lang" and res.formula == FORMULA_A


def test_by_several_columns(data):
    d = data.assign(model=np.where(np.arange(len(data)) % 2, "XLM-R", "mBERT"))
    d = pd.concat([d.assign(model="XLM-R"), d.assign(model="mBERT")], ignore_index=True)
    res = ols(d, FORMULA_C, by=["model", "task"])
    assert list(res.fit.columns[:2]) == ["model", "task"]
    assert len(res.fit) == 8


def test_std_estimate_definition(data):
    c = _fit_case(data, "A_cr1_lang").coefficients.set_index("term")
    expected = c.loc["syntactic", "estimate"] * data["syntactic"].std() / data["degradation"].std()
    assert c.loc["syntactic", "std_estimate"] == pytest.approx(expected, rel=1e-12)


def test_formula_functions_and_environment(data):
    a = ols(data, "degradation ~ syntactic + log_size", cluster="lang").coefficients
    b = ols(data, "degradation ~ syntactic + np.log(size_gib)", cluster="lang").coefficients
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)
    shift = 2.0  # noqa: F841 - found by the formula through the caller's environment
    c = ols(data, "I(degradation - shift) ~ syntactic + log_size", cluster="lang").coefficients
    np.testing.assert_allclose(c["estimate"].iloc[1:], a["estimate"].iloc[1:], rtol=1e-10)


def test_wild_reproducible_and_seeded(data):
    kw = dict(cluster="family", by="task", small_sample="wild", n_boot=499)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegressionWarning)
        r1 = ols(data, FORMULA_C, seed=3, **kw).coefficients
        r2 = ols(data, FORMULA_C, seed=3, **kw).coefficients
        r3 = ols(data, FORMULA_C, seed=4, **kw).coefficients
        # one group alone gets the same draws as inside the by-table
        one = ols(data[data["task"] == "XNLI"], FORMULA_C, seed=3, **kw).coefficients
    pd.testing.assert_frame_equal(r1, r2)
    assert not np.allclose(r1["ci_low"], r3["ci_low"])
    assert (r1["boot_weights"] == "webb").all()  # G = 10 < 12
    assert (r1["n_boot"] == 499).all()
    np.testing.assert_array_equal(
        r1.loc[r1["task"] == "XNLI", "p_value"].to_numpy(), one["p_value"].to_numpy()
    )


def test_wild_random_draws_close_to_enumeration(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegressionWarning)
        exact = _fit_case(data, "B_wild_family").coefficients
        drawn = ols(data, FORMULA_A, cluster="family", small_sample="wild",
                    weights="rademacher", n_boot=1000, seed=1).coefficients
    assert (drawn["boot_weights"] == "rademacher").all()
    # 1000 draws out of 1024 sign vectors: Monte Carlo error of p below ~0.016
    np.testing.assert_allclose(drawn["p_value"], exact["p_value"], atol=0.05)


def test_wild_without_cluster_uses_hc1(data):
    c = ols(data, FORMULA_A, small_sample="wild", n_boot=199).coefficients
    assert (c["se_type"] == "HC1").all()
    assert (c["inference"] == "wild-bootstrap-t").all()
    assert c["n_clusters"].isna().all()
    assert c["p_value"].between(0, 1).all()


def test_wild_null_rejection_rate_is_nominal():
    """Few clusters, null true: the WCR p-value is roughly uniform."""
    rng = np.random.default_rng(11)
    rows = []
    for rep in range(40):
        g = np.repeat(np.arange(8), 5)
        x = np.repeat(rng.normal(size=8), 5)
        y = np.repeat(rng.normal(size=8), 5) + rng.normal(size=40)
        rows.append(pd.DataFrame({"rep": rep, "g": g, "x": x, "y": y}))
    d = pd.concat(rows, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegressionWarning)
        c = ols(d, "y ~ x", cluster="g", by="rep", small_sample="wild", n_boot=199).coefficients
    p = c.loc[c["term"] == "x", "p_value"]
    assert 0.35 < p.mean() < 0.65
    assert (p < 0.05).mean() <= 0.15


# ------------------------------------------------------------ errors


def _one_line(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


def test_unknown_formula_column(data):
    with pytest.raises(ValueError) as e:
        ols(data, "degradation ~ syntax + log_size")
    msg = _one_line(e)
    assert "'syntax'" in msg and "did you mean 'syntactic'" in msg
    assert "available columns" in msg and "'log_size'" in msg
    with pytest.raises(ValueError, match="unknown column 'no such'"):
        ols(data, 'degradation ~ Q("no such")')
    with pytest.raises(ValueError, match="unknown column 'degredation'"):
        ols(data, "degredation ~ syntactic")


@pytest.mark.parametrize(
    "kw, pattern",
    [
        (dict(cluster="language"), "cluster='language'.*did you mean 'lang'"),
        (dict(by="tsk"), "by='tsk'.*did you mean 'task'"),
        (dict(small_sample="bootstrap"), "small_sample='bootstrap'.*'t', 'wild', None"),
        (dict(se="HC3"), "se='HC3'"),
        (dict(weights="mammen", small_sample="wild"), "weights='mammen'"),
        (dict(alpha=1.5), "alpha=1.5"),
        (dict(n_boot=0), "n_boot=0"),
        (dict(seed=-1), "seed=-1"),
        (dict(se="CR1"), "se='CR1' needs cluster"),
        (dict(se="HC1", cluster="lang"), "cluster='lang'"),
        (dict(small_sample="wild", se="classical"), "se='classical'"),
        (dict(cluster="task", by="task"), "also a by column"),
    ],
)
def test_bad_arguments(data, kw, pattern):
    with pytest.raises(ValueError, match=pattern) as e:
        ols(data, FORMULA_C, **kw)
    _one_line(e)


def test_bad_formula_and_data(data):
    with pytest.raises(ValueError, match="formula='degradation'"):
        ols(data, "degradation")
    with pytest.raises(ValueError, match="could not be parsed"):
        ols(data, "degradation ~ syntactic +")
    with pytest.raises(ValueError, match="data must be a pandas DataFrame"):
        ols(data.to_dict(), FORMULA_C)
    with pytest.raises(ValueError, match="outcome must be one numeric column"):
        ols(data, "lang ~ syntactic")


def test_too_few_rows(data):
    small = data[data["task"] == "XNLI"].head(3)
    with pytest.raises(ValueError, match=r"3 rows for 3 parameters") as e:
        ols(small, FORMULA_C)
    _one_line(e)


def test_constant_predictor(data):
    d = data.assign(x=np.where(data["task"] == "MLQA", 0.5, data["geographic"]))
    with pytest.raises(ValueError, match=r"group task='MLQA': predictor 'x' is constant") as e:
        ols(d, "degradation ~ syntactic + x", by="task")
    _one_line(e)
    with pytest.raises(ValueError, match="predictor 'one' is constant"):
        ols(data.assign(one=1.0), "degradation ~ syntactic + one")


def test_collinear_design(data):
    with pytest.raises(ValueError, match="rank deficient"):
        ols(data.assign(s2=2 * data["syntactic"]), "degradation ~ syntactic + s2")


def test_fewer_than_two_clusters(data):
    with pytest.raises(ValueError, match=r"cluster='one'.*1 cluster") as e:
        ols(data.assign(one="x"), FORMULA_C, cluster="one")
    _one_line(e)


def test_missing_cluster_and_by_values(data):
    d = data.copy()
    d.loc[0, "lang"] = None
    with pytest.raises(ValueError, match="cluster='lang' has missing values"):
        ols(d, FORMULA_C, cluster="lang")
    d = data.copy()
    d.loc[0, "task"] = None
    with pytest.raises(ValueError, match="by='task' has missing values"):
        ols(d, FORMULA_C, by="task")


# ------------------------------------------------------------ warnings


def test_few_clusters_warn(data):
    d = data[~data["family"].isin(["Uralic", "Turkic"])]
    with pytest.warns(RegressionWarning, match="only 8 clusters of 'family'"):
        res = ols(d, FORMULA_A, cluster="family")
    assert any("only 8 clusters" in w for w in res.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegressionWarning)
        res = ols(data, FORMULA_A, cluster="lang")  # 15 clusters: no warning
    assert res.warnings == []


def test_high_vif_warns(data):
    rng = np.random.default_rng(0)
    d = data.assign(syn2=data["syntactic"] + rng.normal(0, 0.002, len(data)))
    with pytest.warns(RegressionWarning, match="variance inflation factor above 10"):
        res = ols(d, "degradation ~ syntactic + syn2", cluster="lang")
    assert (res.coefficients.set_index("term").loc[["syntactic", "syn2"], "vif"] > 10).all()


def test_missing_rows_dropped_with_warning(data):
    d = data.copy()
    d.loc[[0, 5], "syntactic"] = np.nan
    with pytest.warns(RegressionWarning, match="2 of 60 rows dropped"):
        res = ols(d, FORMULA_C, cluster="lang")
    assert (res.coefficients["n"] == 58).all()


def test_duplicate_index_with_dropped_rows(data):
    d = data.copy()
    d.index = np.zeros(len(d), dtype=int)  # duplicate labels
    d.iloc[3, d.columns.get_loc("syntactic")] = np.nan
    with pytest.warns(RegressionWarning, match="1 of 60 rows dropped"):
        res = ols(d, FORMULA_C, cluster="lang")
    ref = ols(data.drop(index=3), FORMULA_C, cluster="lang")
    np.testing.assert_allclose(res.coefficients["se"], ref.coefficients["se"], rtol=1e-12)


def test_wild_interval_agrees_with_p_value(data):
    """The interval inverts the WCR test: it excludes 0 exactly when p <= alpha."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegressionWarning)
        for alpha in (0.05, 0.10):
            c = ols(data, FORMULA_A, cluster="lang", by="task", small_sample="wild",
                    n_boot=999, alpha=alpha).coefficients
            excludes = (c["ci_low"] > 0) | (c["ci_high"] < 0)
            assert (excludes == (c["p_value"] <= alpha)).all()
            assert (c["ci_low"] < c["estimate"]).all() and (c["estimate"] < c["ci_high"]).all()
