"""Figures (xdist.plots) and the predicted random effects they use (random_effects).

Each figure function runs on the shipped data (synthetic data for the
intermediate-task gains and random slopes): it returns a Figure with the
expected axes and artists, the same seed gives the same band, text is at
least 8 pt, language labels do not overlap, and bad input raises a one-line
ValueError.  random_effects is checked against lme4's ``ranef(condVar = TRUE)``
(golden values: tests/fixtures/r_lme4_ranef/make_golden.R; CI never runs R).
"""

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from xdist import plots
from xdist.analyses import analysis_frame, correlate
from xdist.results import load_shipped_results, validate_results
from xdist.stats.mixed import fit_mixed, random_effects

FIX = Path(__file__).parent / "fixtures"
XTREME = ["XNLI", "PAWS-X", "XQuAD"]


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


@pytest.fixture(scope="module")
def results():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_shipped_results()


@pytest.fixture(scope="module")
def frame(results):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = analysis_frame(results, tasks=[*XTREME, "UD-POS"])
    keep = (f.setting == "zero-shot") & f.metric.isin(["accuracy", "f1"]) & (
        (f.model == "XLM-R Large") | (f.task == "UD-POS"))
    return f[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def corr(results):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = correlate(results, tasks=XTREME, models=["XLM-R Large"], methods=["spearman"],
                        n_boot=200, n_perm=99, seed=0)
    return tab[(tab.setting == "zero-shot") & tab.metric.isin(["accuracy", "f1"])]


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _check_fonts(fig):
    sizes = [t.get_fontsize() for t in _texts(fig)]
    assert sizes and min(sizes) >= 8
    for ax in fig.axes:
        for t in ax.get_xticklabels() + ax.get_yticklabels():
            if t.get_text():
                assert t.get_fontsize() >= 8
    assert fig.get_size_inches()[0] <= 7.0 + 1e-9


def _labels(ax):
    return [t for t in ax.texts if t.get_gid() == "language-label"]


def _no_overlap(fig, texts):
    r = fig.canvas.get_renderer()
    boxes = []
    for t in texts:  # the text's own box, not its leader line
        t.update_positions(r)
        boxes.append(Text.get_window_extent(t, r))
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def _band(ax):
    (band,) = [c for c in ax.collections if c.get_gid() == "band"]
    return np.concatenate([p.vertices for p in band.get_paths()])


# --------------------------------------------------------------------------- random effects


GOLDEN = {
    "xtreme_slope": ("xtreme_tasks.csv", "degradation ~ distance + (1 + distance | task)"),
    "xtreme_uncorr_crossed": ("xtreme_tasks.csv",
                              "degradation ~ distance + (distance || task) + (1 | language)"),
    "udpos_nested": ("udpos8",
                     "degradation ~ distance + (1 + distance | target_family) + (1 | target)"),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_random_effects_match_lme4(name):
    gold = pd.read_csv(FIX / "r_lme4_ranef" / "golden_ranef.csv")
    gold = gold[gold.model == name]
    file, formula = GOLDEN[name]
    if file == "udpos8":
        data = pd.read_csv(FIX / "r_lme4" / "udpos_transfer.csv")
        data = data[data.source.isin(["en", "de", "ru", "zh", "ar", "fi", "hi", "ja"])]
    else:
        data = pd.read_csv(FIX / "r_lme4" / file)
    re = random_effects(fit_mixed(data, formula))
    assert list(re.columns) == ["group", "level", "term", "estimate", "se"]
    m = gold.merge(re.assign(level=re.level.astype(str)), on=["group", "level", "term"],
                   suffixes=("_r", ""))
    assert len(m) == len(gold) == len(re)
    scale = max(1.0, gold.estimate.abs().max())
    assert np.abs(m.estimate - m.estimate_r).max() < 1e-4 * scale
    assert np.abs(m.se - m.se_r).max() < 1e-4 * scale


def test_random_effects_rejects_other_objects():
    with pytest.raises(ValueError, match="MixedResult") as exc:
        random_effects(pd.DataFrame())
    _one_line(exc)


# --------------------------------------------------------------------------- degradation


def test_degradation_vs_distance(frame):
    sub = frame[frame.task.isin(XTREME)]
    fig = plots.degradation_vs_distance(sub, n_boot=300, seed=1)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        task = ax.get_title().split(" (")[0]
        d = sub[(sub.task == task) & sub.syntactic.notna()]
        assert f"n = {len(d)}" in ax.get_title()
        assert len(ax.collections[0].get_offsets()) == len(d)
        labels = _labels(ax)
        assert sorted(t.get_text() for t in labels) == sorted(d.language)
        assert ax.get_xlabel() == "syntactic distance (URIEL)"
        assert ax.get_ylabel() == "degradation (points)"
    _no_overlap(fig, [t for ax in fig.axes for t in _labels(ax)])
    _check_fonts(fig)
    again = plots.degradation_vs_distance(sub, n_boot=300, seed=1)
    other = plots.degradation_vs_distance(sub, n_boot=300, seed=2, label=False)
    for a, b, c in zip(fig.axes, again.axes, other.axes):
        np.testing.assert_array_equal(_band(a), _band(b))
        assert not np.array_equal(_band(a), _band(c))
    assert not any(_labels(ax) for ax in other.axes)


def test_degradation_vs_distance_many_languages(frame):
    """UD-POS: 81 languages with syntactic data in one panel; labels never overlap."""
    ud = frame[frame.task == "UD-POS"]
    fig = plots.degradation_vs_distance(ud, n_boot=100, col_wrap=1, height=4.0)
    (ax,) = fig.axes
    n = int(ud.syntactic.notna().sum())
    labels = _labels(ax)
    title = ax.get_title()
    omitted = int(title.split("\n")[-1].split()[0]) if "omitted" in title else 0
    assert len(labels) + omitted == n
    assert len(labels) > 0.8 * n
    _no_overlap(fig, labels)


def test_degradation_vs_distance_bad_input(frame):
    with pytest.raises(ValueError) as exc:
        plots.degradation_vs_distance(frame, distance="syntax")
    msg = _one_line(exc)
    assert "'syntax'" in msg and "'syntactic'" in msg
    # several models per task would pile up: say which column varies
    allf = pd.concat([frame, frame.assign(model="other")])
    with pytest.raises(ValueError, match="model") as exc:
        plots.degradation_vs_distance(allf)
    _one_line(exc)
    with pytest.raises(ValueError, match="ci="):
        plots.degradation_vs_distance(frame, ci=95)
    with pytest.raises(ValueError, match="seed="):
        plots.degradation_vs_distance(frame, seed=-1)
    with pytest.raises(ValueError, match="numeric"):
        plots.degradation_vs_distance(frame, distance="family")


# --------------------------------------------------------------------------- forest, heatmap


def test_forest_correlations(corr):
    fig = plots.forest(corr)
    assert len(fig.axes) == corr.distance.nunique()
    rows = corr[["task", "model"]].drop_duplicates()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == len(rows)
    assert labels[0].startswith(f"{rows.iloc[0].task} · {rows.iloc[0].model} (n=")
    assert "Spearman" in fig.get_supxlabel()
    for ax in fig.axes:  # one zero line per panel
        assert any(np.allclose(ln.get_xdata(), 0) for ln in ax.get_lines())
    _check_fonts(fig)
    hue = plots.forest(corr[corr.distance.isin(["syntactic", "genetic"])], by=None,
                       hue="distance")
    assert len(hue.axes) == 1 and len(hue.legends) == 1


def test_forest_regression_table():
    tab = pd.DataFrame({"term": ["Intercept", "syntactic", "log_size"],
                        "estimate": [5.0, 20.0, -1.0], "ci_low": [1.0, 10.0, -3.0],
                        "ci_high": [9.0, 30.0, 1.0], "p_value": [0.01, 0.001, 0.3],
                        "method": "Wald z"})
    fig = plots.forest(tab, y="term", by=None)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["syntactic", "log_size"]
    assert len(plots.forest(tab, y="term", by=None, drop_intercept=False).axes[0]
               .get_yticklabels()) == 3
    with pytest.raises(ValueError, match="y='term', by=None") as exc:
        plots.forest(tab)
    _one_line(exc)


def test_forest_duplicates_raise(corr):
    two = pd.concat([corr, corr.assign(method="pearson")])
    with pytest.raises(ValueError, match="method") as exc:
        plots.forest(two)
    _one_line(exc)


def test_correlation_heatmap(corr):
    fig = plots.correlation_heatmap(corr)
    ax, cbar = fig.axes
    (im,) = ax.images
    assert im.get_clim() == (-1, 1)
    assert im.get_cmap().name == "RdBu_r"
    cells = [t for t in ax.texts if t.get_gid() == "cell-value"]
    assert len(cells) == int(corr.estimate.notna().sum())
    stars = sum(t.get_text().endswith("*") for t in cells)
    assert stars == int((corr.p_adjusted < 0.05).sum())
    assert len(ax.get_yticklabels()) == len(corr[["task", "model"]].drop_duplicates())
    _check_fonts(fig)


def test_correlation_heatmap_marks_significant_cells():
    tab = pd.DataFrame({"task": ["A", "A", "B", "B"], "model": "m",
                        "distance": ["syntactic", "genetic"] * 2, "method": "spearman",
                        "estimate": [0.5, 0.2, -0.1, 0.8], "p_adjusted": [0.01, 0.5, 0.9, 0.001]})
    fig = plots.correlation_heatmap(tab)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["-0.10", "0.20", "0.50*", "0.80*"]
    assert not [t for t in plots.correlation_heatmap(tab, annotate=False).axes[0].texts]
    with pytest.raises(ValueError, match="available methods are") as exc:
        plots.correlation_heatmap(tab, method="kendall")
    _one_line(exc)


# --------------------------------------------------------------------------- family


def test_degradation_by_family(frame):
    ud = frame[frame.task == "UD-POS"]
    fig = plots.degradation_by_family(frame, task="UD-POS")
    (ax,) = fig.axes
    assert len(ax.get_yticklabels()) == ud.family.nunique()
    assert len(ax.collections[0].get_offsets()) == ud.language.nunique()
    labels = _labels(ax)
    title = ax.get_title()
    omitted = int(title.split("\n")[-1].split()[0]) if "omitted" in title else 0
    assert len(labels) + omitted == ud.language.nunique()
    _no_overlap(fig, labels)
    _check_fonts(fig)
    top = plots.degradation_by_family(frame, task="UD-POS", top=5)
    names = [t.get_text() for t in top.axes[0].get_yticklabels()]
    assert len(names) == 6 and any("other families" in n for n in names)
    # several tasks: one colour each, and averaged experiments are said
    many = plots.degradation_by_family(frame[frame.task.isin(XTREME)])
    assert len(many.axes[0].collections) == 3 and len(many.legends) == 1
    with pytest.raises(ValueError, match="available tasks") as exc:
        plots.degradation_by_family(frame, task="XNIL")
    _one_line(exc)
    with pytest.raises(ValueError, match="top="):
        plots.degradation_by_family(frame, top=0)


# --------------------------------------------------------------------------- random slopes


@pytest.fixture(scope="module")
def slope_fit():
    rng = np.random.default_rng(0)
    tasks = list("ABCDEF")
    df = pd.DataFrame({"task": np.repeat(tasks, 12), "x": rng.uniform(0.3, 0.8, 72)})
    slope = dict(zip(tasks, 20 + rng.normal(0, 6, 6)))
    df["y"] = 2 + df.task.map(slope) * df.x + rng.normal(0, 1, 72)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_mixed(df, "y ~ x + (1 + x | task)")


def test_random_slopes(slope_fit):
    fig = plots.random_slopes(slope_fit)
    (ax,) = fig.axes
    levels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(levels) == list("ABCDEF")
    re = random_effects(slope_fit)
    want = slope_fit.fixed.set_index("term").loc["x", "estimate"] + \
        re[re.term == "x"].set_index("level")["estimate"]
    pts = ax.collections[-1].get_offsets()
    got = dict(zip(levels, np.asarray(pts)[:, 0]))
    for lv in levels:
        assert got[lv] == pytest.approx(want[lv])
    assert any(p.get_gid() == "fixed-band" for p in ax.patches)
    _check_fonts(fig)


def test_random_slopes_bad_input(slope_fit):
    from xdist.analyses.regression import ModelReport

    rep = ModelReport(fixed=slope_fit.fixed, random=slope_fit.random, fit=slope_fit.fit)
    with pytest.raises(ValueError, match="fit_mixed") as exc:
        plots.random_slopes(rep)
    _one_line(exc)
    with pytest.raises(ValueError, match="random slopes of 'task' are") as exc:
        plots.random_slopes(slope_fit, term="z")
    _one_line(exc)
    with pytest.raises(ValueError, match="grouping factors") as exc:
        plots.random_slopes(slope_fit, group="language")
    _one_line(exc)


# --------------------------------------------------------------------------- gains


def _synthetic_gains():
    """Gains of two intermediate tasks over 12 languages (synthetic, known slopes)."""
    from xdist.analyses import intermediate_gains
    from xdist.distances import distances

    langs = ["de", "fr", "es", "ru", "ar", "zh", "hi", "tr", "fi", "ja", "sw", "el"]
    dist = distances(langs, source="en", kinds=["syntactic"])
    d = dict(zip(dist.target, dist.distance))
    rng = np.random.default_rng(0)
    rows = []
    for it, (en, slope) in {"": (80.0, 40.0), "MNLI": (82.0, 30.0), "SQuAD": (79.0, 40.0)}.items():
        rows.append(dict(intermediate_task=it, language="en", seed=1, score=en))
        for lang in langs:
            rows.append(dict(intermediate_task=it, language=lang, seed=1,
                             score=en - 5 - slope * d[lang] + rng.normal(0, 0.05)))
    res = validate_results(pd.DataFrame(rows).assign(
        model="m", setting="zero-shot", target_task="XNLI", metric="accuracy",
        source="synthetic"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return intermediate_gains(res, n_boot=200, seed=0), dist


def test_gain_vs_distance():
    gains, dist = _synthetic_gains()
    fig = plots.gain_vs_distance(gains, dist, title="SYNTHETIC gains")
    (ax,) = fig.axes
    assert len(ax.collections) == 2  # one colour per intermediate task
    assert all(len(c.get_offsets()) == 12 for c in ax.collections)  # source 'en' left out
    fits = [ln for ln in ax.get_lines() if ln.get_gid() == "fit"]
    assert len(fits) == 2
    slopes = {}
    for ln, it in zip(fits, ["MNLI", "SQuAD"]):
        x, y = ln.get_xdata(), ln.get_ydata()
        slopes[it] = (y[-1] - y[0]) / (x[-1] - x[0])
    assert slopes["MNLI"] == pytest.approx(10, abs=2)  # gain 2 + 10 d
    assert slopes["SQuAD"] == pytest.approx(0, abs=2)
    assert fig.get_suptitle() == "SYNTHETIC gains"
    _check_fonts(fig)
    # an analysis table works as the distance source too
    frame = dist.rename(columns={"target": "language", "distance": "syntactic"})
    assert len(plots.gain_vs_distance(gains, frame).axes[0].collections) == 2
    with pytest.raises(ValueError, match="available kinds") as exc:
        plots.gain_vs_distance(gains, dist, distance="genetic")
    _one_line(exc)
    with pytest.raises(ValueError, match="'estimate'") as exc:
        plots.gain_vs_distance(gains.drop(columns="estimate"), dist)
    _one_line(exc)
