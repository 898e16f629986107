"""Tests of xdist.stats against R golden values, scipy on expanded data, and contracts.

Golden values: tests/fixtures/r_correlation/ (make_inputs.py writes the data and
xdist's bootstrap counts, make_golden.R computes cor.test, partial
correlations, p.adjust and boot.ci on exactly those resamples).
"""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xdist.stats import (
    BootstrapWarning,
    ResamplePlan,
    TABLE_COLUMNS,
    adjust_pvalues,
    bca_interval,
    bootstrap_correlation_ci,
    correlation,
    correlation_table,
    percentile_interval,
    permutation_pvalue,
    weighted_correlation,
)
from xdist.stats.correlation import _kendall_numerators, _kendall_numerators_gemm

FIX = Path(__file__).parent / "fixtures" / "r_correlation"
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
COUNTS = {
    "n40": "counts_n40.txt",
    "n12_ties": "counts_n12_ties.txt",
    "n15_clusters": "counts_n15_clusters.txt",
}


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"data_{name}.csv")


def counts(name: str) -> np.ndarray:
    lines = (FIX / COUNTS[name]).read_text().split()
    return np.array([[DIGITS.index(c) for c in line] for line in lines])


# --------------------------------------------------------------------------- R golden values

COR = pd.read_csv(FIX / "golden_cor_test.csv")


def _id(r):
    return "-".join(str(r[k]) for k in ("dataset", "method", "resample_unit") if k in r)


@pytest.mark.parametrize("row", COR.to_dict("records"), ids=_id)
def test_cor_test_golden(row):
    d = data(row["dataset"])
    est, p = correlation(d.x, d.y, row["method"])
    assert est == pytest.approx(row["estimate"], abs=1e-12)
    if row["method"] == "spearman":
        # xdist (like scipy) uses the t approximation = R's cor.test(exact = FALSE)
        assert p == pytest.approx(row["p_value_exact_false"], rel=1e-10)
    elif row["method"] == "kendall" and row["dataset"] in ("n40", "n8"):
        # exact null distribution (no ties, n < 50) as R's default; R computes the upper
        # tail as 1 - P(T <= q - 1), which costs it ~1e-16 absolute accuracy
        assert p == pytest.approx(row["p_value"], rel=1e-8, abs=1e-15)
    else:
        assert p == pytest.approx(row["p_value"], rel=1e-10)


def test_spearman_exact_difference_documented():
    # Without ties R's default Spearman p is exact / Edgeworth (AS 89), not the t approximation
    row = COR[(COR.dataset == "n8") & (COR.method == "spearman")].iloc[0]
    _, p = correlation(data("n8").x, data("n8").y, "spearman")
    assert p != pytest.approx(row["p_value"], rel=1e-3)
    assert abs(p - row["p_value"]) < 0.01


PARTIAL = pd.read_csv(FIX / "golden_partial.csv")


@pytest.mark.parametrize("row", PARTIAL.to_dict("records"), ids=_id)
def test_partial_golden(row):
    d = data(row["dataset"])
    est, p = correlation(d.x, d.y, row["method"], covariates=d[row["covariate"]])
    assert est == pytest.approx(row["estimate"], abs=1e-12)
    assert p == pytest.approx(row["p_value"], rel=1e-10)


def test_p_adjust_golden():
    g = pd.read_csv(FIX / "golden_p_adjust.csv")
    for ours, theirs in [("holm", "holm"), ("fdr_bh", "BH"), ("bonferroni", "bonferroni")]:
        got = adjust_pvalues(g.p.to_numpy(), ours)
        np.testing.assert_allclose(got, g[theirs].to_numpy(), rtol=0, atol=1e-15)
    assert np.array_equal(adjust_pvalues(g.p, "none"), g.p.to_numpy(), equal_nan=True)


BOOT = pd.read_csv(FIX / "golden_boot_ci.csv")


@pytest.mark.parametrize("row", BOOT.to_dict("records"), ids=_id)
def test_boot_ci_golden(row):
    d = data(row["dataset"])
    clusters = d.cluster.to_numpy() if row["resample_unit"] == "cluster" else None
    plan = ResamplePlan.from_counts(counts(row["dataset"]), clusters=clusters)
    assert plan.n_boot == row["n_boot"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootstrapWarning)
        perc = bootstrap_correlation_ci(d.x, d.y, method=row["method"], ci="percentile", plan=plan)
        bca = bootstrap_correlation_ci(d.x, d.y, method=row["method"], ci="bca", plan=plan)
    assert perc.estimate == pytest.approx(row["t0"], abs=1e-12)
    # same resamples, same definitions (norm.inter, jackknife empinf): only rounding differs
    assert perc.ci_low == pytest.approx(row["perc_low"], abs=1e-10)
    assert perc.ci_high == pytest.approx(row["perc_high"], abs=1e-10)
    assert bca.ci_low == pytest.approx(row["bca_low"], abs=1e-10)
    assert bca.ci_high == pytest.approx(row["bca_high"], abs=1e-10)


def test_dropped_replicates_match_r_and_warn():
    # 5 clusters: a few resamples draw one family only, x is then constant (R: NA, dropped)
    d = data("n15_clusters")
    plan = ResamplePlan.from_counts(counts("n15_clusters"), clusters=d.cluster.to_numpy())
    reps = weighted_correlation(d.x, d.y, plan.weights)
    n_finite = BOOT[BOOT.dataset == "n15_clusters"].n_finite.iloc[0]
    assert np.isfinite(reps).sum() == n_finite < plan.n_boot
    with pytest.warns(BootstrapWarning, match="left out"):
        bootstrap_correlation_ci(d.x, d.y, ci="percentile", plan=plan)


# --------------------------------------------------------------------------- weighted = expanded


def _expanded(f, x, y, w):
    xe, ye = np.repeat(x, w), np.repeat(y, w)
    if len(np.unique(xe)) < 2 or len(np.unique(ye)) < 2:
        return np.nan
    return f(xe, ye)[0]


@pytest.mark.parametrize(
    "method,f",
    [("pearson", stats.pearsonr), ("spearman", stats.spearmanr), ("kendall", stats.kendalltau)],
)
def test_weighted_equals_scipy_on_expanded(method, f):
    rng = np.random.default_rng(7)
    n = 13
    x = np.round(rng.uniform(size=n), 1)  # ties
    x2 = rng.normal(size=n)  # no ties
    y = np.round(rng.normal(size=n) * 2)  # ties
    W = rng.multinomial(n, np.full(n, 1 / n), size=150)
    W[0] = 0
    W[0, 4] = n  # one unit only: undefined
    W[1] = 0
    W[1, [0, 5]] = [3, 9]  # two units
    got = weighted_correlation(np.column_stack([x, x2]), y, W, method=method)
    assert got.shape == (150, 2)
    for j, xv in enumerate([x, x2]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = np.array([_expanded(f, xv, y, w) for w in W])
        np.testing.assert_array_equal(np.isnan(got[:, j]), np.isnan(ref))
        np.testing.assert_allclose(got[:, j], ref, rtol=0, atol=1e-12)
    assert np.isnan(got[0]).all()


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_weighted_partial_equals_pingouin_on_expanded(method):
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(3)
    n = 12
    x, y, z = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    W = rng.multinomial(n, np.full(n, 1 / n), size=25)
    got = weighted_correlation(x, y, W, method=method, covariates=z)
    for w, r in zip(W, got):
        df = pd.DataFrame({"x": np.repeat(x, w), "y": np.repeat(y, w), "z": np.repeat(z, w)})
        ref = pg.partial_corr(df, x="x", y="y", covar="z", method=method)["r"].iloc[0]
        assert r == pytest.approx(ref, abs=1e-12)


def test_weighted_correlation_shapes():
    x, y = np.arange(5.0), np.array([1.0, 3, 2, 5, 4])
    assert np.ndim(weighted_correlation(x, y, np.ones(5))) == 0
    assert weighted_correlation(x, y, np.ones((3, 5))).shape == (3,)
    assert weighted_correlation(np.c_[x, -x], y, np.ones((3, 5))).shape == (3, 2)


# --------------------------------------------------------------------------- plans, seeds


def test_cluster_bootstrap_draws_whole_clusters():
    clusters = np.array(["b", "a", "b", "c", "a", "a", "d"])
    plan = ResamplePlan(7, n_boot=500, seed=3, clusters=clusters)
    assert plan.n_clusters == 4 and plan.clustered
    assert list(plan.cluster_labels) == ["a", "b", "c", "d"]
    assert (plan.counts.sum(axis=1) == 4).all()
    W = plan.weights
    for lab in "abcd":
        members = np.flatnonzero(clusters == lab)
        assert (W[:, members] == W[:, members[:1]]).all()
        col = list(plan.cluster_labels).index(lab)
        assert (W[:, members[0]] == plan.counts[:, col]).all()
    J = plan.jackknife_weights
    assert J.shape == (4, 7)
    assert (J[0] == (clusters != "a")).all()
    # every cluster is drawn about equally often
    assert abs(plan.counts.mean() - 1) < 0.1


def test_unit_plan_is_multinomial_and_seeded():
    a = ResamplePlan(10, n_boot=2000, seed=5)
    b = ResamplePlan(10, n_boot=2000, seed=5)
    c = ResamplePlan(10, n_boot=2000, seed=6)
    assert not a.clustered
    assert np.array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)
    assert (a.counts.sum(axis=1) == 10).all()
    assert abs(a.counts.var() - 0.9) < 0.05  # multinomial(10, 1/10): variance 0.9
    assert [len(i) for i in a.indices()[:3]] == [10, 10, 10]


def test_same_seed_identical_output():
    rng = np.random.default_rng(0)
    x = rng.normal(size=25)
    y = x + rng.normal(size=25)
    r1 = bootstrap_correlation_ci(x, y, method="spearman", n_boot=2000, seed=11)
    r2 = bootstrap_correlation_ci(x, y, method="spearman", n_boot=2000, seed=11)
    r3 = bootstrap_correlation_ci(x, y, method="spearman", n_boot=2000, seed=12)
    assert r1 == r2
    assert r1.ci_low != r3.ci_low
    p1 = permutation_pvalue(x, y, n_perm=999, seed=1)
    assert p1 == permutation_pvalue(x, y, n_perm=999, seed=1)


def _table_data(n_groups=3, n=15, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        d1, d2 = rng.uniform(size=n), np.round(rng.uniform(size=n) * 2) / 2
        size = rng.normal(10, 2, size=n)
        deg = 10 * d1 - size + rng.normal(size=n)
        for i in range(n):
            rows.append(
                {
                    "task": f"t{g}",
                    "model": "m",
                    "language": f"l{i:02d}",
                    "family": f"f{i % 5}",
                    "syntactic": d1[i],
                    "family_dist": d2[i],
                    "log_size": size[i],
                    "degradation": deg[i],
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.filterwarnings("ignore::xdist.stats.BootstrapWarning")
def test_table_same_seed_identical_and_order_invariant():
    df = _table_data()
    kw = dict(x=["syntactic", "family_dist"], y="degradation", by=["task", "model"],
              n_boot=500, n_perm=499, seed=4)
    a = correlation_table(df, **kw)
    b = correlation_table(df.sample(frac=1, random_state=1), **kw)
    pd.testing.assert_frame_equal(a, b)
    c = correlation_table(df, **{**kw, "seed": 5})
    assert not np.allclose(a.ci_low, c.ci_low)
    # a group's result does not depend on the other groups
    one = correlation_table(df[df.task == "t1"], **kw)
    pd.testing.assert_frame_equal(
        one.drop(columns="p_adjusted"),
        a[a.task == "t1"].reset_index(drop=True).drop(columns="p_adjusted"),
    )


# --------------------------------------------------------------------------- the table


@pytest.mark.filterwarnings("ignore::xdist.stats.BootstrapWarning")
def test_table_columns_and_values():
    df = _table_data()
    tab = correlation_table(df, x=["syntactic", "family_dist"], y="degradation",
                            by="task", n_boot=1000, n_perm=999, seed=0)
    assert list(tab.columns) == ["task"] + TABLE_COLUMNS
    assert len(tab) == 3 * 2 * 3
    assert (tab.n == 15).all() and (tab.n_clusters == 15).all()
    assert (tab.resample_unit == "language").all() and (tab.covariates == "").all()
    assert (tab.ci_method == "bca").all() and (tab.adjust == "holm").all()
    assert tab.n_boot.dtype == np.int64 and (tab.n_perm == 999).all()
    np.testing.assert_allclose(tab.p_adjusted, adjust_pvalues(tab.p_value, "holm"))
    for r in tab.itertuples():
        g = df[df.task == r.task]
        est, p = correlation(g[r.variable], g.degradation, r.method)
        assert r.estimate == pytest.approx(est, abs=1e-12)
        assert r.p_value_analytic == pytest.approx(p, rel=1e-12)
        assert r.ci_low <= r.estimate <= r.ci_high
        assert 1 / 1000 <= r.p_value <= 1
        assert r.se > 0


def test_table_clusters_and_covariates():
    df = _table_data(n_groups=1, n=20)
    tab = correlation_table(df, x="syntactic", y="degradation", methods=("pearson", "spearman"),
                            clusters="family", covariates="log_size", n_boot=500, n_perm=199,
                            adjust="fdr_bh")
    assert (tab.n_clusters == 5).all() and (tab.resample_unit == "family").all()
    assert (tab.covariates == "log_size").all() and (tab.adjust == "fdr_bh").all()
    for r in tab.itertuples():
        est, p = correlation(df.syntactic, df.degradation, r.method, covariates=df.log_size)
        assert r.estimate == pytest.approx(est, abs=1e-12)
        assert r.p_value_analytic == pytest.approx(p, rel=1e-10)


def test_table_drops_missing_with_warning_and_small_groups_nan():
    df = _table_data(n_groups=2, n=6)
    df.loc[(df.task == "t0") & (df.language == "l02"), "syntactic"] = np.nan
    gone = df.language.isin(["l00", "l01", "l02", "l03"])
    df.loc[(df.task == "t1") & gone, "degradation"] = np.nan
    with pytest.warns(UserWarning) as rec:
        tab = correlation_table(df, x=["syntactic", "family_dist"], y="degradation", by="task",
                                n_boot=200, n_perm=99)
    msgs = " | ".join(str(w.message) for w in rec)
    assert "'l02'" in msgs and "only 2 unit(s)" in msgs
    t0 = tab[tab.task == "t0"].set_index(["variable", "method"])
    assert (t0.loc["syntactic"].n == 5).all() and (t0.loc["family_dist"].n == 6).all()
    t1 = tab[tab.task == "t1"]
    assert (t1.n == 2).all() and t1.estimate.isna().all() and t1.p_value.isna().all()
    assert t1.p_adjusted.isna().all() and tab[tab.task == "t0"].p_adjusted.notna().all()


def test_table_ci_none_and_no_permutations():
    df = _table_data(n_groups=1)
    tab = correlation_table(df, x="syntactic", y="degradation", ci="none", n_perm=0)
    assert tab.ci_low.isna().all() and tab.p_value.isna().all() and (tab.n_boot == 0).all()
    assert tab.estimate.notna().all() and tab.p_value_analytic.notna().all()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs,param,value",
    [
        ({"methods": ("pearson", "spearmann")}, "methods", "spearmann"),
        ({"ci": "bca2"}, "ci", "bca2"),
        ({"adjust": "BH"}, "adjust", "BH"),
    ],
)
def test_table_bad_names(kwargs, param, value):
    df = _table_data(n_groups=1)
    with pytest.raises(ValueError) as e:
        correlation_table(df, x="syntactic", y="degradation", **kwargs)
    msg = str(e.value)
    assert param in msg and repr(value) in msg and "use one of" in msg


def test_bad_method_ci_adjust_low_level():
    x, y = np.arange(5.0), np.array([2.0, 1, 4, 3, 5])
    with pytest.raises(ValueError, match=r"method='pearsn'.*'pearson', 'spearman', 'kendall'"):
        correlation(x, y, "pearsn")
    with pytest.raises(ValueError, match=r"ci='bc'.*'bca', 'percentile'"):
        bootstrap_correlation_ci(x, y, ci="bc")
    with pytest.raises(ValueError, match=r"method='hochberg'.*'holm', 'fdr_bh'"):
        adjust_pvalues([0.1], "hochberg")
    with pytest.raises(ValueError, match="kendall.*covariates"):
        correlation(x, y, "kendall", covariates=x**2)
    with pytest.raises(ValueError, match="kendall.*covariates"):
        correlation_table(_table_data(1), x="syntactic", y="degradation", covariates="log_size")
    with pytest.raises(ValueError, match="seed"):
        bootstrap_correlation_ci(x, y, seed=1.5)
    with pytest.raises(ValueError, match="missing"):
        correlation([1.0, np.nan, 3, 4], [1.0, 2, 3, 4])


def test_too_few_units():
    with pytest.raises(ValueError, match="at least 3 units"):
        correlation([1.0, 2.0], [2.0, 1.0])
    with pytest.raises(ValueError, match="at least 4 units"):
        correlation([1.0, 2.0, 3.0], [2.0, 1.0, 3.0], covariates=[1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="at least 3 units"):
        bootstrap_correlation_ci([1.0, 2.0], [2.0, 1.0])


def test_table_unknown_column_and_duplicates():
    df = _table_data(n_groups=1)
    with pytest.raises(KeyError, match="did you mean 'degradation'"):
        correlation_table(df, x="syntactic", y="degradaton")
    dup = pd.concat([df, df.iloc[:1]])
    with pytest.raises(ValueError, match="several rows for unit"):
        correlation_table(dup, x="syntactic", y="degradation")
    df2 = df.assign(family=df.family.where(df.language != "l03"))
    with pytest.raises(ValueError, match="clusters.*'l03'"):
        correlation_table(df2, x="syntactic", y="degradation", clusters="family")


# --------------------------------------------------------------------------- intervals


def test_bca_undefined_gives_nan_and_warning():
    t = np.full(999, 0.5)
    with pytest.warns(BootstrapWarning, match="bias correction infinite"):
        low, high = bca_interval(t, 0.5, np.linspace(0.4, 0.6, 10))
    assert math.isnan(low) and math.isnan(high)
    with pytest.warns(BootstrapWarning, match="fewer than 3 units"):
        low, _ = bca_interval(np.linspace(0, 1, 99), 0.5, [0.4, 0.6])
    assert math.isnan(low)
    with pytest.warns(BootstrapWarning, match="acceleration undefined"):
        low, _ = bca_interval(np.linspace(0, 1, 99), 0.5, np.full(5, 0.5))
    assert math.isnan(low)
    # a variable constant in the data: estimate NaN, interval NaN, no exception
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap_correlation_ci(np.ones(6), np.arange(6.0), n_boot=200)
    assert math.isnan(res.estimate) and math.isnan(res.ci_low)
    for method in ("pearson", "spearman", "kendall"):
        assert math.isnan(permutation_pvalue(np.ones(6), np.arange(6.0), method=method, n_perm=99))
    # x collinear with the covariate: partial correlation undefined, p too
    z = np.arange(8.0)
    assert math.isnan(correlation(2 * z + 1, z**2, covariates=z).estimate)
    assert math.isnan(permutation_pvalue(2 * z + 1, z**2, covariates=z, n_perm=99))


def test_percentile_interval_definition():
    t = np.arange(1, 40) / 40  # R = 39, (R + 1) * 0.025 = 1: the extreme order statistic
    with pytest.warns(BootstrapWarning, match="extreme order statistics"):
        low, high = percentile_interval(t, 0.05)
    assert low == pytest.approx(t[0]) and high == pytest.approx(t[-1])
    rng = np.random.default_rng(2)
    t = rng.normal(size=(9999, 2))
    low, high = percentile_interval(t, 0.1)
    np.testing.assert_allclose(low, np.quantile(t, 0.05, axis=0), atol=0.02)
    np.testing.assert_allclose(high, np.quantile(t, 0.95, axis=0), atol=0.02)


def test_bca_close_to_scipy():
    rng = np.random.default_rng(8)
    x = rng.normal(size=30)
    y = 0.6 * x + rng.normal(size=30)
    ours = bootstrap_correlation_ci(x, y, n_boot=4000, seed=1)

    def stat(a, b, axis=-1):
        a = a - a.mean(axis=axis, keepdims=True)
        b = b - b.mean(axis=axis, keepdims=True)
        return (a * b).sum(axis) / np.sqrt((a * a).sum(axis) * (b * b).sum(axis))

    ref = stats.bootstrap((x, y), stat, paired=True, vectorized=True, method="BCa",
                          n_resamples=4000, rng=np.random.default_rng(2)).confidence_interval
    assert ours.ci_low == pytest.approx(ref.low, abs=0.03)
    assert ours.ci_high == pytest.approx(ref.high, abs=0.03)


# --------------------------------------------------------------------------- permutations


def test_kendall_permutation_numerators_brute_force():
    rng = np.random.default_rng(4)
    for n in (4, 9, 70):  # one and two 64-bit words
        X = np.column_stack([rng.uniform(size=n), np.round(rng.uniform(size=n) * 3)])
        y = np.round(rng.normal(size=n) * 2)
        perms = rng.permuted(np.tile(np.arange(n), (6, 1)), axis=1)
        got = _kendall_numerators(X, y, perms) if hasattr(np, "bitwise_count") else None
        alt = _kendall_numerators_gemm(X, y, perms)
        I, J = np.triu_indices(n, 1)
        for p, row in enumerate(perms):
            yp = y[row]
            ref = [(np.sign(X[I, j] - X[J, j]) * np.sign(yp[I] - yp[J])).sum() for j in range(2)]
            np.testing.assert_array_equal(alt[p], ref)
            if got is not None:
                np.testing.assert_array_equal(got[p], ref)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_permutation_p_close_to_exact_enumeration(method):
    x = np.array([0.1, 0.4, 0.35, 0.8, 0.6, 0.2])
    y = np.array([1.0, 2.5, 2.0, 2.0, 3.5, 1.5])
    f = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}
    f = f[method]
    obs = abs(f(x, y)[0])
    allp = [abs(f(x, y[list(p)])[0]) >= obs - 1e-10 for p in itertools.permutations(range(6))]
    exact = np.mean(allp)
    p = permutation_pvalue(x, y, method=method, n_perm=9999, seed=0)
    assert p == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 9999) + 1e-4)


def test_partial_permutation_p():
    rng = np.random.default_rng(5)
    z = rng.normal(size=30)
    x = z + rng.normal(size=30)
    y = z + 0.8 * x + rng.normal(size=30)
    p = permutation_pvalue(x, y, covariates=z, n_perm=999, seed=0)
    assert p == pytest.approx(1 / 1000)
    y0 = z + rng.normal(size=30)  # no partial association
    p0 = permutation_pvalue(x, y0, method="spearman", covariates=z, n_perm=999, seed=0)
    _, pa = correlation(x, y0, "spearman", covariates=z)
    assert abs(p0 - pa) < 0.1


def test_local_rankdata_equals_scipy():
    """xdist ranks without importing scipy.stats (start-up time); same ranks as scipy."""
    from scipy import stats as sps

    from xdist.stats.correlation import _rankdata

    rng = np.random.default_rng(0)
    for _ in range(100):
        a = rng.integers(0, 5, size=(int(rng.integers(1, 30)), 3)).astype(float)
        for m in ("average", "min", "dense"):
            assert np.array_equal(_rankdata(a, method=m, axis=0), sps.rankdata(a, method=m, axis=0))
            assert np.array_equal(_rankdata(a[:, 0], method=m), sps.rankdata(a[:, 0], method=m))


def test_correlation_table_same_for_any_n_jobs():
    import warnings as _w

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"language": [f"l{i}" for i in range(60)],
                       "g": np.repeat(["a", "b", "c", "d"], 15),
                       "x": rng.normal(size=60)})
    df["y"] = df["x"] + rng.normal(size=60)
    df.loc[df.g == "d", "x"] = 1.0  # a constant variable: warnings must come back from workers
    kw = dict(x="x", y="y", by="g", n_boot=300, n_perm=99, seed=4)
    with _w.catch_warnings(record=True) as one:
        _w.simplefilter("always")
        a = correlation_table(df, n_jobs=1, **kw)
    with _w.catch_warnings(record=True) as two:
        _w.simplefilter("always")
        b = correlation_table(df, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert [str(w.message) for w in one] == [str(w.message) for w in two] != []


# --------------------------------------------------------------------------- fast bootstrap path


def _stream_counts(g, n_boot, seed):
    """Counts of the defining stream: rng.integers blocks of 1024 rows, counted one by one."""
    from xdist.stats.bootstrap import _BLOCK

    rng = np.random.default_rng(seed)
    dtype = np.int16 if g < 32767 else np.int64
    rows = []
    for s in range(0, n_boot, _BLOCK):
        draws = rng.integers(0, g, size=(min(_BLOCK, n_boot - s), g), dtype=dtype)
        rows.extend(np.bincount(r, minlength=g) for r in draws)
    return np.array(rows)


@pytest.mark.parametrize("fast_at", [True, False])
@pytest.mark.parametrize("g, n_boot", [(2, 5), (40, 2100), (104, 1100), (1700, 600)])
def test_counted_blocks_are_the_stream(monkeypatch, fast_at, g, n_boot):
    """The chunked counting (uint16 or intp bins, add.at or bincount) gives the stream's counts."""
    from xdist.stats import bootstrap as bs

    monkeypatch.setattr(bs, "_FAST_AT", fast_at)
    ref = _stream_counts(g, n_boot, seed=7)
    got = np.empty((n_boot, g))
    for s, c in bs._draw_blocks(g, n_boot, np.random.default_rng(7)):
        got[s : s + c.shape[0]] = c
    assert np.array_equal(got, ref)
    assert np.array_equal(ResamplePlan(g, n_boot=n_boot, seed=7).counts, ref)


def test_redraw_counts_replays_rows_and_leaves_rng_alone():
    from xdist.stats.bootstrap import _draw_blocks, _redraw_counts

    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    for _ in _draw_blocks(9, 2500, rng):
        pass
    after = rng.bit_generator.state
    rows = np.array([0, 5, 1023, 1024, 2499])
    got = _redraw_counts(rng, state, 9, rows)
    assert np.array_equal(got, _stream_counts(9, 2500, seed=3)[rows])
    assert rng.bit_generator.state == after


@pytest.mark.filterwarnings("ignore::xdist.stats.BootstrapWarning")
@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_seeded_interval_equals_plan_interval(method):
    """Without a plan the same resamples are drawn block by block: the same interval as with
    ResamplePlan(seed), the estimate exactly correlation()'s; also where resamples are
    degenerate (a constant variable: those replicates are dropped), which is checked on
    resamples drawn a second time."""
    rng = np.random.default_rng(11)
    cases = [
        (rng.normal(size=40), None, None),
        (np.r_[np.zeros(5), 1.0], None, None),  # x constant unless the 1 is drawn
        (rng.normal(size=12), [f"f{i % 4}" for i in range(12)], None),
    ]
    if method != "kendall":
        cases.append((rng.normal(size=30), None, rng.normal(size=30)))
    for x, clusters, z in cases:
        y = x + rng.normal(size=len(x))
        kw = dict(method=method, clusters=clusters, covariates=z)
        for ci in ("bca", "percentile"):
            a = bootstrap_correlation_ci(x, y, n_boot=1500, seed=5, ci=ci, **kw)
            plan = ResamplePlan(len(x), n_boot=1500, seed=5, clusters=clusters)
            b = bootstrap_correlation_ci(x, y, ci=ci, plan=plan, method=method, covariates=z)
            assert a.estimate == correlation(x, y, method, covariates=z).estimate
            for f in ("estimate", "ci_low", "ci_high", "se"):
                va, vb = getattr(a, f), getattr(b, f)
                assert (math.isnan(va) and math.isnan(vb)) or va == pytest.approx(vb, abs=1e-12)
            assert (a.n_boot, a.n_clusters) == (b.n_boot, b.n_clusters)


def test_degenerate_resamples_dropped_without_plan():
    x = np.r_[np.zeros(5), 1.0]
    y = np.arange(6.0)
    plan = ResamplePlan(6, n_boot=800, seed=2)
    reps = weighted_correlation(x, y, plan.weights)
    n_const = int((plan.weights[:, 5] == 0).sum())  # the 1 not drawn: x constant
    assert n_const > 0 and np.isnan(reps).sum() == n_const
    with pytest.warns(BootstrapWarning, match=f"{n_const} of 800"):
        bootstrap_correlation_ci(x, y, n_boot=800, seed=2, ci="percentile")


def test_select_gives_order_statistics():
    from xdist.stats.bootstrap import _select

    rng = np.random.default_rng(0)
    for _ in range(200):
        f = rng.normal(size=int(rng.integers(1, 60))).round(1)  # ties too
        kth = sorted(set(rng.integers(0, f.size, size=int(rng.integers(1, 6))).tolist()))
        kth = sorted(set(kth + [k + 1 for k in kth if k + 1 < f.size]))  # adjacent indices
        fp = _select(f, kth)
        assert np.array_equal(np.sort(fp), np.sort(f))
        assert np.array_equal(fp[kth], np.sort(f)[kth])


@pytest.mark.filterwarnings("ignore::xdist.stats.BootstrapWarning")
def test_generator_seed_without_plan():
    """A Generator as seed: the same resamples as a plan from an equal Generator, including
    the resamples checked a second time (the Generator passed in is advanced once)."""
    x = np.r_[np.zeros(5), 1.0, 2.0]
    y = np.array([0.5, 1.0, 0.2, 3.0, 2.0, 1.0, 4.0])
    g1, g2 = np.random.default_rng(8), np.random.default_rng(8)
    a = bootstrap_correlation_ci(x, y, n_boot=700, seed=g1)
    b = bootstrap_correlation_ci(x, y, plan=ResamplePlan(7, n_boot=700, seed=g2))
    assert a.ci_low == pytest.approx(b.ci_low, abs=1e-12)
    assert a.ci_high == pytest.approx(b.ci_high, abs=1e-12)
    assert g1.bit_generator.state == g2.bit_generator.state
