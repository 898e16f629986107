"""Mixed models (xdist.stats.mixed) against R's lme4, failure detection, LRT, bootstrap.

Golden values: tests/fixtures/r_lme4/make_golden.R (lme4 1.1.31, R 4.2.2) on the
inputs built by tests/fixtures/r_lme4/build_inputs.py.  CI never runs R.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xdist.stats.mixed as mixed
from xdist.stats.formula import parse_formula
from xdist.stats.mixed import (
    CollapsedVarianceWarning,
    ConvergenceWarning,
    MixedFitError,
    MixedModelWarning,
    RandomStructureWarning,
    SingularFitWarning,
    bootstrap_mixed,
    diagnose_statsmodels,
    fit_mixed,
    lrt,
)

FIX = Path(__file__).parent / "fixtures" / "r_lme4"
GOLDEN_FIXED = pd.read_csv(FIX / "golden_fixed.csv")
GOLDEN_RANDOM = pd.read_csv(FIX / "golden_random.csv")
GOLDEN_FIT = pd.read_csv(FIX / "golden_fit.csv").set_index("model")
GOLDEN_LRT = pd.read_csv(FIX / "golden_lrt.csv").set_index("name")

# lme4 model name -> (input, formula, REML) as fitted by xdist
MODELS = {
    "udpos_crossed": ("udpos_transfer.csv",
                      "degradation ~ distance + (1 | target) + (1 | source) + (1 | target_family)",
                      True),
    "xtreme_slope": ("xtreme_tasks.csv", "degradation ~ distance + (1 + distance | task)", True),
    "xtreme_slope_ml": ("xtreme_tasks.csv", "degradation ~ distance + (1 + distance | task)",
                        False),
    "xtreme_uncorr_crossed": ("xtreme_tasks.csv",
                              "degradation ~ distance + (distance || task) + (1 | language)",
                              True),
    "xtreme_crossed": ("xtreme_tasks.csv",
                       "degradation ~ distance + (1 | task) + (1 | language) + (1 | model)",
                       True),
    # targets nested in families: groups = family with a correlated slope, target a
    # variance component inside each family (8 source languages, as in make_golden.R)
    "udpos_nested": ("udpos8",
                     "degradation ~ distance + (1 + distance | target_family) + (1 | target)",
                     True),
    "singular_slope": ("singular_slope.csv", "y ~ x + (1 + x | g)", True),
}
UDPOS8 = ["en", "de", "ru", "zh", "ar", "fi", "hi", "ja"]
EXPECTED = {"singular_slope": SingularFitWarning}


@pytest.fixture(scope="module")
def xtreme():
    return pd.read_csv(FIX / "xtreme_tasks.csv")


@pytest.fixture(scope="module")
def fits():
    data = {f: pd.read_csv(FIX / f) for f in {m[0] for m in MODELS.values()} if "." in f}
    udpos = data["udpos_transfer.csv"]
    data["udpos8"] = udpos[udpos.source.isin(UDPOS8)]
    out = {}
    for name, (file, formula, reml) in MODELS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out[name] = fit_mixed(data[file], formula, reml=reml)
        kinds = [type(w.message) for w in caught if isinstance(w.message, MixedModelWarning)]
        assert kinds == ([EXPECTED[name]] if name in EXPECTED else []), (name, kinds)
    return out


def _golden_random(name):
    g = GOLDEN_RANDOM[GOLDEN_RANDOM.model == name].copy()
    g["group"] = g.group.str.replace(r"\.\d+$", "", regex=True)  # lme4's names for ||
    g["var1"] = g.var1.replace({"(Intercept)": "Intercept"})
    g["var2"] = g.var2.replace({"(Intercept)": "Intercept"})
    return g


# --------------------------------------------------------------------------- lme4


@pytest.mark.parametrize("name", list(MODELS))
def test_fixed_effects_match_lme4(fits, name):
    res = fits[name]
    gold = GOLDEN_FIXED[GOLDEN_FIXED.model == name]
    np.testing.assert_allclose(res.fixed.estimate, gold.estimate, rtol=1e-4)
    np.testing.assert_allclose(res.fixed.se, gold.se, rtol=1e-3)
    assert list(res.fixed.term) == [t.replace("(Intercept)", "Intercept") for t in gold.term]


@pytest.mark.parametrize("name", list(MODELS))
def test_variance_components_match_lme4(fits, name):
    res = fits[name]
    gold = _golden_random(name)
    mine = res.random
    for _, row in gold.iterrows():
        if row.group == "Residual":
            got = mine[mine.group == "Residual"]
            np.testing.assert_allclose(got.variance, row.vcov, rtol=1e-3)
        elif pd.isna(row.var2):
            got = mine[(mine.group == row.group) & (mine.term == row.var1) & mine.term2.isna()]
            assert len(got) == 1, (row.group, row.var1)
            np.testing.assert_allclose(got.variance, row.vcov, rtol=2e-3)
            np.testing.assert_allclose(got.sd, row.sdcor, rtol=1e-3)
        else:
            got = mine[(mine.group == row.group) & (mine.term == row.var1)
                       & (mine.term2 == row.var2)]
            assert len(got) == 1
            np.testing.assert_allclose(got.variance, row.vcov, rtol=2e-3)
            np.testing.assert_allclose(got.correlation, row.sdcor, atol=1e-4)
    assert len(mine) == len(gold)


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_statistics_match_lme4(fits, name):
    fit = fits[name].fit
    gold = GOLDEN_FIT.loc[name]
    assert fit["method"] == gold.method
    assert fit["loglik"] == pytest.approx(gold.loglik, abs=1e-4)
    assert fit["aic"] == pytest.approx(gold.aic, abs=1e-3)
    assert fit["bic"] == pytest.approx(gold.bic, abs=1e-3)
    assert fit["n_params"] == gold.df
    assert fit["n_obs"] == gold.nobs
    crit = fit["reml_criterion"] if gold.method == "REML" else fit["deviance"]
    assert crit == pytest.approx(gold.deviance_or_reml, abs=1e-3)
    assert fit["singular"] == bool(gold.singular)  # lme4's isSingular()
    assert fit["converged"]


def test_udpos_groups_counted(fits):
    assert fits["udpos_crossed"].fit["n_groups"] == {"target": 105, "source": 65,
                                                     "target_family": 21}


def test_correlated_slope_with_crossed_factor_is_split(xtreme, fits):
    f = "degradation ~ distance + (1 + distance | task) + (1 | language)"
    with pytest.warns(RandomStructureWarning, match="correlation between Intercept and "
                                                    "distance is fixed at 0"):
        res = fit_mixed(xtreme, f)
    # ... which is lme4's (distance || task) + (1 | language), not lme4's correlated fit
    same = fits["xtreme_uncorr_crossed"]
    np.testing.assert_allclose(res.fixed.estimate, same.fixed.estimate, rtol=1e-8)
    assert res.fit["loglik"] < GOLDEN_FIT.loc["xtreme_corr_crossed", "loglik"] - 1
    assert any(w.startswith("RandomStructureWarning") for w in res.warnings)


@pytest.mark.parametrize("name", list(GOLDEN_LRT.index))
def test_lrt_matches_lme4_anova(fits, xtreme, name):
    gold = GOLDEN_LRT.loc[name]
    formulas = {"xtreme_task_only": "degradation ~ distance + (1 | task)",
                "xtreme_task_only_nodist": "degradation ~ 1 + (1 | task)",
                "xtreme_slope": MODELS["xtreme_slope"][1]}
    small = fit_mixed(xtreme, formulas[gold.small])
    big = fits["xtreme_slope"] if gold.big == "xtreme_slope" else fit_mixed(xtreme,
                                                                            formulas[gold.big])
    out = lrt(small, big)
    assert list(out.columns) == ["small", "big", "loglik_small", "loglik_big", "chi2", "df",
                                 "p_value", "method"]
    row = out.iloc[0]
    assert row.chi2 == pytest.approx(gold.chi2, rel=1e-5)
    assert row.df == gold.df
    assert row.p_value == pytest.approx(gold.p_value, rel=1e-4)
    assert row.method == ("ML (refit)" if gold.refit else "REML")


def test_lrt_rejects_unrelated_fits(xtreme):
    a = fit_mixed(xtreme, "degradation ~ distance + (1 | task)")
    b = fit_mixed(xtreme.iloc[:200], "degradation ~ distance + (1 | task)")
    with pytest.raises(ValueError, match="different rows"):
        lrt(a, b)
    c = fit_mixed(xtreme, "degradation ~ 1 + (1 | task)")
    with pytest.raises(ValueError, match="not comparable"):
        lrt(c, a, refit=False)


# --------------------------------------------------------------------------- outputs


def test_tidy_outputs_and_json(fits):
    res = fits["xtreme_slope"]
    assert tuple(res.fixed.columns) == mixed.FIXED_COLUMNS
    assert tuple(res.random.columns) == mixed.RANDOM_COLUMNS
    assert (res.fixed.method == "Wald z").all()
    for key in ("loglik", "aic", "bic", "reml_criterion", "method", "converged", "singular",
                "n_obs", "n_groups"):
        assert key in res.fit
    assert res.fit["reml_criterion"] == pytest.approx(-2 * res.fit["loglik"])
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert set(d) == {"fixed", "random", "fit", "warnings"}
    assert d["random"][2]["term2"] == "distance" and d["random"][0]["term2"] is None
    assert isinstance(d["fixed"][0]["estimate"], float)


def test_missing_rows_are_reported(xtreme):
    df = xtreme.copy()
    df.loc[[0, 5], "distance"] = np.nan
    with pytest.warns(MixedModelWarning, match="2 of 283 rows left out"):
        res = fit_mixed(df, "degradation ~ distance + (1 | task)")
    assert res.fit["n_obs"] == 281 and res.fit["n_dropped_missing"] == 2


# --------------------------------------------------------------------------- failures


def _no_between_variance(seed=0, G=12, m=6):
    """Group means of the noise removed: the REML variance estimate is 0."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), m)
    e = rng.normal(size=G * m)
    e -= pd.Series(e).groupby(g).transform("mean").to_numpy()
    x = rng.normal(size=G * m)
    z = np.repeat(rng.normal(size=G), m)  # constant within groups
    return pd.DataFrame({"y": 5 + 2 * z + x + e, "x": x, "z": z, "g": g})


def test_singular_fit_is_flagged_with_correct_fixed_effects():
    df = _no_between_variance()
    with pytest.warns(SingularFitWarning, match=r"variance of \(1 \| g\) is ~0"):
        res = fit_mixed(df, "y ~ z + x + (1 | g)")
    assert res.singular and res.fit["singular"] and res.failed
    # the fixed effects are the variance -> 0 limit (OLS), not statsmodels' 0.0
    ols, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(df)), df.z, df.x]), df.y,
                              rcond=None)
    np.testing.assert_allclose(res.fixed.estimate, ols, rtol=1e-6)
    assert "distance x task interaction" in res.warnings[-1]


def test_perfect_correlation_is_singular():
    # lme4 finds the same boundary (isSingular TRUE; the golden comparisons above)
    df = pd.read_csv(FIX / "singular_slope.csv")  # 6 groups, slope = 2 x intercept
    with pytest.warns(SingularFitWarning, match="correlation of x with Intercept"):
        res = fit_mixed(df, "y ~ x + (1 + x | g)")
    assert res.random.correlation.dropna().iloc[0] == pytest.approx(1.0, abs=1e-6)
    assert res.singular and res.failed


def test_non_convergence_is_flagged(xtreme):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = fit_mixed(xtreme, "degradation ~ distance + (1 + distance | task)", maxiter=1,
                        check_collapse=False)
    assert not res.converged and res.failed


def test_on_failure_raise(xtreme):
    with pytest.raises(MixedFitError, match="ConvergenceWarning") as err:
        fit_mixed(xtreme, "degradation ~ distance + (1 + distance | task)", maxiter=1,
                  on_failure="raise", check_collapse=False)
    assert not err.value.result.converged


def test_collapsed_variance_is_detected_and_refitted(monkeypatch):
    """The optimizer "converges" at a collapsed variance (as statsmodels' does in issue
    10239) although the groups clearly differ: the ANOVA-start refit recovers it."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(12), 6)
    x = rng.normal(size=72)
    df = pd.DataFrame({"y": 1 + x + rng.normal(0, 2, size=12)[g] + rng.normal(size=72),
                       "x": x, "g": g})
    good = fit_mixed(df, "y ~ x + (1 | g)")
    real = mixed._optimize
    calls = []

    def collapsing(model, theta0, plan, reml, maxiter, tol="fit"):
        calls.append(1)
        if len(calls) == 1:
            theta = np.full_like(np.asarray(theta0, dtype=float), mixed.THETA_LOWER)
            return mixed._Opt(theta=theta, loglik=float(model.loglike(theta)), success=True,
                              message="CONVERGENCE (collapsed)", n_iter=3, grad_max=0.0,
                              scaled_grad=0.0)
        return real(model, theta0, plan, reml, maxiter, tol)

    monkeypatch.setattr(mixed, "_optimize", collapsing)
    with pytest.warns(CollapsedVarianceWarning, match=r"collapsed to ~0.*ANOVA.*refit"):
        res = fit_mixed(df, "y ~ x + (1 | g)")
    assert len(calls) == 2
    np.testing.assert_allclose(res.theta, good.theta, rtol=1e-4)
    np.testing.assert_allclose(res.fixed.estimate, good.fixed.estimate, rtol=1e-6)
    assert not res.singular


def test_diagnose_statsmodels_issue_10239():
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(10), 8)
    z = np.repeat(rng.normal(size=10), 8)
    x = rng.normal(size=80)
    df = pd.DataFrame({"y": 5 + 2 * z + x + rng.normal(size=10)[g] + rng.normal(size=80),
                       "z": z, "x": x, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = smf.mixedlm("y ~ z + x", df, groups="g").fit(start_params=np.array([1e-6]),
                                                        method="lbfgs", maxiter=0)
    assert sm.converged and sm.fe_params["Intercept"] == 0 and sm.fe_params["z"] == 0
    with pytest.warns(CollapsedVarianceWarning, match=r"Intercept = 0 .*issue 10239"), \
            pytest.warns(SingularFitWarning):
        found = diagnose_statsmodels(sm)
    assert [f.split(":")[0] for f in found] == ["SingularFitWarning",
                                                "CollapsedVarianceWarning"]
    # a sound statsmodels fit raises nothing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok = smf.mixedlm("y ~ z + x", df, groups="g").fit()
    assert diagnose_statsmodels(ok, emit=False) == []


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("formula, match", [
    ("degradation ~ distnce + (1 | task)", "unknown column 'distnce'.*did you mean 'distance'"),
    ("degradation ~ distance + (1 | tsak)", "unknown column 'tsak'.*did you mean 'task'"),
    ("degradation ~ distance + (1 | task", "unbalanced parentheses"),
    ("degradation ~ distance + (1 task)", "malformed random term"),
    ("degradation ~ distance + (1 | task | model)", "malformed random term"),
    ("degradation ~ distance + 1 | task", "malformed random term"),
    ("degradation ~ distance + ( | task)", "nothing left of the bar"),
    ("degradation ~ distance + (log(distance) | task)", "not a column name"),
    ("degradation ~ distance + (0 + model | task)", "must be numeric"),
    ("degradation ~ distance", "no random term"),
    ("degradation distance", "exactly one '~'"),
])
def test_formula_errors_are_one_line_value_errors(xtreme, formula, match):
    with pytest.raises(ValueError, match=match) as err:
        fit_mixed(xtreme, formula)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, match", [
    ({"on_failure": "ignore"}, "on_failure='ignore'"),
    ({"reml": "yes"}, "reml='yes'"),
    ({"alpha": 1.5}, "alpha=1.5"),
    ({"maxiter": -1}, "maxiter=-1"),
    ({"start": [1.0]}, "start has 1"),
])
def test_bad_arguments(xtreme, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_mixed(xtreme, "degradation ~ distance + (1 + distance | task)", **kwargs)
    with pytest.raises(ValueError, match="DataFrame"):
        fit_mixed(xtreme.to_dict(), "degradation ~ distance + (1 | task)")


def test_parse_formula_expansions():
    f = parse_formula("y ~ x + (1 + x || g) + (1 | a/b)")
    assert [(t.group, t.columns, t.correlated) for t in f.random] == [
        ("g", ("Intercept",), False), ("g", ("x",), False),
        ("a", ("Intercept",), True), ("a:b", ("Intercept",), True)]
    assert parse_formula("y ~ 0 + x + (0 + x | g)").fixed == "0 + x"


# --------------------------------------------------------------------------- bootstrap


@pytest.fixture(scope="module")
def crossed_fit(xtreme):
    return fit_mixed(xtreme, "degradation ~ distance + (1 | task) + (1 | language)")


def test_bootstrap_is_reproducible(crossed_fit):
    a = bootstrap_mixed(crossed_fit, cluster="language", n_boot=40, seed=7, n_jobs=1)
    b = bootstrap_mixed(crossed_fit, cluster="language", n_boot=40, seed=7, n_jobs=1)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(a.attrs["replicates"], b.attrs["replicates"])
    assert list(a.columns) == ["term", "estimate", "se", "ci_low", "ci_high", "n", "n_boot",
                               "method"]
    assert (a.n == 17).all() and (a.n_boot == 40).all()
    assert a.attrs["relabelled_factors"] == ["language"]  # task is crossed: kept
    assert (a.ci_low < a.estimate).all() and (a.estimate < a.ci_high).all()
    c = bootstrap_mixed(crossed_fit, cluster="language", n_boot=40, seed=8, n_jobs=1)
    assert not np.array_equal(a.attrs["replicates"], c.attrs["replicates"])


@pytest.mark.filterwarnings("ignore::xdist.stats.bootstrap.BootstrapWarning")
def test_bootstrap_two_processes_same_as_one(crossed_fit):
    a = bootstrap_mixed(crossed_fit, cluster="language", n_boot=16, seed=2, n_jobs=1)
    b = bootstrap_mixed(crossed_fit, cluster="language", n_boot=16, seed=2, n_jobs=2)
    np.testing.assert_allclose(a.attrs["replicates"], b.attrs["replicates"], rtol=1e-10)
    # the warm start (BFGS from the full-data curvature) reaches the cold-start optimum
    c = bootstrap_mixed(crossed_fit, cluster="language", n_boot=16, seed=2, n_jobs=1,
                        warm_start=False)
    np.testing.assert_allclose(a.attrs["replicates"], c.attrs["replicates"], atol=2e-3)


def test_bootstrap_duplicated_clusters_become_new_levels(crossed_fit):
    d = crossed_fit._design
    counts = np.zeros(17, dtype=np.int64)
    counts[0] = 17  # one language drawn 17 times
    lang = pd.factorize(d.levels["language"][d.codes["language"]], sort=True)[0]
    rows = [np.flatnonzero(lang == c) for c in range(17)]
    r, codes = mixed._resample_codes(d, counts, rows, ["language"])
    assert len(np.unique(codes["language"])) == 17
    assert len(np.unique(codes["task"])) == len(np.unique(d.codes["task"][rows[0]]))


@pytest.mark.filterwarnings("ignore::xdist.stats.bootstrap.BootstrapWarning")
def test_bootstrap_bca_and_errors(crossed_fit):
    out = bootstrap_mixed(crossed_fit, cluster="language", n_boot=30, seed=1, n_jobs=1,
                          ci="bca")
    assert out.method.iloc[0] == "cluster bootstrap (bca, clusters: language)"
    with pytest.raises(ValueError, match="cluster='langauge'.*did you mean 'language'"):
        bootstrap_mixed(crossed_fit, cluster="langauge")
    with pytest.raises(ValueError, match="n_boot=0"):
        bootstrap_mixed(crossed_fit, cluster="language", n_boot=0)
