"""Research questions as analyses: models table, intermediate tasks, scale, leave-one-out.

Synthetic results tables with known effects check that each analysis recovers
them; the shipped XLM-R size series checks the analyses on published data
(values sane, caveats emitted).
"""

import csv
import warnings

import numpy as np
import pandas as pd
import pytest

from xdist._paths import data_path
from xdist.analyses import analysis_frame
from xdist.analyses.influence import LOO_COLUMNS, leave_one_out
from xdist.analyses.intermediate import (
    GAIN_COLUMNS,
    SLOPE_COLUMNS,
    intermediate_gains,
    intermediate_slope,
)
from xdist.analyses.scale import GAP_COLUMNS, SCALE_COLUMNS, scale_analysis, setting_gap
from xdist.caveats import DataCaveatWarning, collect_caveats
from xdist.distances import distances
from xdist.pretrained import (
    ARCHITECTURES,
    MODEL_COLUMNS,
    UnknownModelError,
    load_models,
    log_parameters,
    model_info,
)
from xdist.results import (
    EXCLUDED_FLAGS,
    read_results,
    shipped_results_paths,
    validate_results,
)
from xdist.stats.regression import ols

LANGS = ["de", "fr", "es", "ru", "ar", "zh", "hi", "tr", "fi", "ja", "sw", "el"]


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


@pytest.fixture(scope="module")
def readme():
    """The shipped README tables (the size series lives there)."""
    return read_results(shipped_results_paths()[0])


@pytest.fixture(scope="module")
def dist():
    return distances(LANGS, source="en", kinds=["syntactic"]).set_index("target")["distance"]


# --------------------------------------------------------------------------- models table


def test_models_table_covers_every_shipped_model(readme):
    tab = load_models()
    assert list(tab.columns) == MODEL_COLUMNS
    assert tab["model"].is_unique
    names = set(tab["model"])
    assert set(readme["model"]) <= names
    with open(data_path("results", "published_task_averages.csv"), newline="") as f:
        averages = {r["model"] for r in csv.DictReader(f)}
    assert averages <= names
    assert set(tab["architecture"]) <= set(ARCHITECTURES)


def test_models_table_provenance():
    tab = load_models()
    counted = tab[tab["parameters"].notna()]
    assert len(counted) >= 12
    for r in counted.itertuples():
        assert r.source.startswith("github:") and "@" in r.source, r.model
        assert r.printed, r.model
    # every empty count says why
    for r in tab[tab["parameters"].isna()].itertuples():
        assert r.note, r.model
    xlmr = tab.set_index("model").loc[["XLM-R Base", "XLM-R Large", "XLM-R XL", "XLM-R XXL"]]
    assert xlmr["parameters"].tolist() == [250_000_000, 560_000_000, 3_500_000_000,
                                           10_700_000_000]
    assert xlmr["printed"].tolist() == ["250M", "560M", "3.5B", "10.7B"]
    mt5 = tab.set_index("model").loc[["mT5-Small", "mT5-XXL"], "parameters"].tolist()
    assert mt5 == [300_000_000, 13_000_000_000]
    # mBERT's printed 110M is not a total: kept as printed, not used
    mbert = tab.set_index("model").loc["mBERT"]
    assert pd.isna(mbert["parameters"]) and mbert["printed"] == "110M"


def test_model_info_and_log_parameters():
    info = model_info(["XLM-R XL", "mT5-Base"])
    assert info["model"].tolist() == ["XLM-R XL", "mT5-Base"]
    assert info["architecture"].tolist() == ["encoder", "encoder-decoder"]
    lp = log_parameters(["XLM-R Base", "XLM-R XXL", "mBERT"])
    assert lp["XLM-R Base"] == pytest.approx(np.log10(250e6))
    assert lp["XLM-R XXL"] == pytest.approx(np.log10(10.7e9))
    assert np.isnan(lp["mBERT"])
    assert log_parameters("XLM-R Large").index.tolist() == ["XLM-R Large"]


def test_unknown_model_did_you_mean():
    with pytest.raises(UnknownModelError) as exc:
        log_parameters(["XLM-R Large", "XLMR Large"])
    msg = _one_line(exc)
    assert "'XLMR Large'" in msg and "did you mean 'XLM-R Large'" in msg
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, KeyError)
    with pytest.raises(ValueError, match="names"):
        model_info(42)


# --------------------------------------------------------------------------- intermediate


def _intermediate_results(dist, *, lang_sd=2.0, noise=0.05, seeds=(1, 2), rng_seed=0):
    """12 languages x {none, MNLI, SQuAD} x seeds.

    Degradation: none 5 + 40 d + u_l; MNLI 5 + 30 d + u_l (slope change -10);
    SQuAD as none.  English: none 80, MNLI 82, SQuAD 79.  So the gain of MNLI
    in language l is 2 + 10 d_l, of SQuAD -1.
    """
    rng = np.random.default_rng(rng_seed)
    u = dict(zip(LANGS, rng.normal(0, lang_sd, len(LANGS))))
    spec = {"": (80.0, 40.0), "MNLI": (82.0, 30.0), "SQuAD": (79.0, 40.0)}
    rows = []
    for it, (en, slope) in spec.items():
        for s in seeds:
            rows.append(dict(intermediate_task=it, language="en", seed=s,
                             score=en + rng.normal(0, noise)))
            for lang in LANGS:
                deg = 5 + slope * dist[lang] + u[lang]
                rows.append(dict(intermediate_task=it, language=lang, seed=s,
                                 score=en - deg + rng.normal(0, noise)))
    df = pd.DataFrame(rows).assign(model="m", setting="zero-shot", target_task="XNLI",
                                   metric="accuracy", source="synthetic")
    return validate_results(df)


def test_intermediate_gains_recovers_known_gain(dist):
    res = _intermediate_results(dist)
    with collect_caveats() as notes:
        tab = intermediate_gains(res, n_boot=2000, seed=3)
    assert list(tab.columns) == GAIN_COLUMNS
    lang = tab[tab.level == "language"].set_index(["intermediate_task", "language"])
    # per-language gains (en included, reported but not in the mean)
    for l in LANGS:
        assert lang.loc[("MNLI", l), "estimate"] == pytest.approx(2 + 10 * dist[l], abs=0.15)
        assert lang.loc[("SQuAD", l), "estimate"] == pytest.approx(-1, abs=0.15)
    assert lang.loc[("MNLI", "en"), "estimate"] == pytest.approx(2, abs=0.15)
    assert lang["paired"].all() and (lang["n_seeds_with"] == 2).all()
    assert lang["method"].eq("paired difference over shared seeds").all()
    assert (lang["se"] > 0).all()
    mean = tab[tab.level == "mean"].set_index("intermediate_task")
    truth = 2 + 10 * dist[LANGS].mean()
    m = mean.loc["MNLI"]
    assert m["estimate"] == pytest.approx(truth, abs=0.1)
    assert m["ci_low"] < truth < m["ci_high"]
    assert int(m["n"]) == 12 and int(m["n_clusters"]) == 12 and m["ci_method"] == "bca"
    assert mean.loc["SQuAD", "estimate"] == pytest.approx(-1, abs=0.1)
    assert notes == []
    # reproducible under a seed
    again = intermediate_gains(res, n_boot=2000, seed=3)
    pd.testing.assert_frame_equal(tab, again)


def test_intermediate_gains_unpaired_seeds_and_families(dist):
    res = _intermediate_results(dist)
    res.loc[res.intermediate_task == "MNLI", "seed"] = res.loc[
        res.intermediate_task == "MNLI", "seed"] + 10  # no shared seeds
    tab = intermediate_gains(res, intermediate_tasks=["MNLI"], cluster="family",
                             ci="percentile", n_boot=500, seed=0)
    lang = tab[tab.level == "language"]
    assert set(lang["intermediate_task"]) == {"MNLI"}
    assert not lang["paired"].any()
    assert lang["method"].eq("difference of seed means").all()
    fam = analysis_frame(res[res.intermediate_task == ""], kinds=["syntactic"])["family"]
    mean = tab[tab.level == "mean"].iloc[0]
    assert mean["resample_unit"] == "family" and mean["n_clusters"] == fam.nunique()


def test_intermediate_errors(dist, readme):
    res = _intermediate_results(dist)
    with pytest.raises(ValueError) as exc:
        intermediate_gains(readme, n_boot=200)
    assert "no rows with intermediate_task != ''" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        intermediate_slope(readme)
    assert "no rows with intermediate_task != ''" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        intermediate_gains(res, baseline="STILTs")
    assert "baseline='STILTs'" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        intermediate_gains(res, ci="bc")
    msg = _one_line(exc)
    assert "ci='bc'" in msg and "'bca'" in msg and "'percentile'" in msg
    with pytest.raises(ValueError) as exc:
        intermediate_gains(res, intermediate_tasks=["MNIL"])
    assert "did you mean 'MNLI'" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        intermediate_gains(res, n_boot=10)
    assert "n_boot=10" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        intermediate_slope(res, distance="syntax")
    assert "distance='syntax'" in _one_line(exc) and "did you mean 'syntactic'" in str(exc.value)


def test_intermediate_slope_recovers_slope_change(dist):
    res = _intermediate_results(dist)
    tab = intermediate_slope(res)
    assert list(tab.columns) == SLOPE_COLUMNS
    assert tab["model_type"].eq("mixed").all()
    t = tab.set_index("term")
    assert t.loc["syntactic:MNLI", "estimate"] == pytest.approx(-10, abs=0.5)
    assert t.loc["syntactic:MNLI", "quantity"] == "slope_change"
    assert t.loc["syntactic:MNLI", "ci_low"] < -10 < t.loc["syntactic:MNLI", "ci_high"]
    assert t.loc["syntactic:SQuAD", "estimate"] == pytest.approx(0, abs=0.5)
    assert t.loc["syntactic:SQuAD", "p_value"] > 0.01
    assert t.loc["syntactic", "quantity"] == "slope"
    assert set(tab["quantity"]) == {"intercept", "slope", "shift", "slope_change", "covariate"}
    assert int(t.loc["syntactic", "n"]) == 36 and int(t.loc["syntactic", "n_languages"]) == 12


def test_intermediate_slope_singular_falls_back_to_ols(dist):
    res = _intermediate_results(dist, lang_sd=0.0, noise=0.5)
    with collect_caveats() as notes:
        tab = intermediate_slope(res, covariates=())
    assert tab["model_type"].eq("ols").all()
    assert tab["method"].iloc[0].startswith("OLS, CR1 clustered by language")
    assert any("not usable" in n and "(1 | language)" in n for n in notes)
    t = tab.set_index("term")
    assert t.loc["syntactic:MNLI", "estimate"] == pytest.approx(-10, abs=3)


# --------------------------------------------------------------------------- scale


def test_setting_gap_on_shipped_xlmr(readme):
    with collect_caveats() as notes:
        gap = setting_gap(readme, tasks=["XNLI"], model_families=["XLM-R"],
                          distances=["syntactic"])
    assert list(gap.columns[: len(GAP_COLUMNS)]) == GAP_COLUMNS
    assert sorted(gap["model"].unique()) == ["XLM-R Base", "XLM-R Large"]
    assert gap.groupby("model").size().tolist() == [14, 14]
    # identity with the raw table (XLM-R Base, Swahili)
    raw = readme[(readme.model == "XLM-R Base") & (readme.target_task == "XNLI")
                 & (readme.language == "sw") & (readme.flag == "")].set_index("setting")["score"]
    row = gap[(gap.model == "XLM-R Base") & (gap.language == "sw")].iloc[0]
    assert row["gap"] == pytest.approx(raw["translate-train-all"] - raw["zero-shot"])
    assert row["log_params"] == pytest.approx(np.log10(250e6))
    assert (gap["gap"] > -5).all() and (gap["gap"] < 20).all()
    assert any("only one of the settings" in n for n in notes)  # XL/XXL: no zero-shot


def test_scale_degradation_on_shipped_size_series(readme):
    with collect_caveats() as notes:
        tab = scale_analysis(readme, outcome="degradation", tasks=["XNLI", "MLQA"],
                             settings=["zero-shot", "translate-train-all"],
                             model_families=["XLM-R"])
    assert list(tab.columns) == SCALE_COLUMNS
    tta = tab[(tab.task == "XNLI") & (tab.setting == "translate-train-all")].set_index("term")
    assert tta["model_type"].eq("mixed").all() and int(tta["n_models"].iloc[0]) == 4
    assert int(tta["n"].iloc[0]) == 56 and int(tta["n_languages"].iloc[0]) == 14
    assert tta.loc["log_params", "estimate"] < 0          # larger models degrade less
    assert tta.loc["syntactic", "estimate"] > 0           # far languages degrade more
    assert set(tta.index) == {"Intercept", "log_params", "syntactic", "log_params:syntactic"}
    assert (tab["se"] > 0).all() and tab["estimate"].abs().max() < 100
    zs = tab[(tab.task == "XNLI") & (tab.setting == "zero-shot")]
    assert zs["model_type"].eq("ols").all() and int(zs["n_models"].iloc[0]) == 2
    mlqa = tab[tab.task == "MLQA"]
    assert set(mlqa["metric"]) == {"f1", "em"} and int(mlqa["n_languages"].iloc[0]) == 6
    flagged = [n for n in notes if "flagged 'column_order'" in n and "enter the fits" in n]
    assert flagged and "XLM-R XL f1 es" in flagged[0] and "XLM-R XXL em ar" in flagged[0]
    assert any("fewer than min_models=3" in n for n in notes)


def test_scale_gap_and_column_order_sensitivity(readme):
    with collect_caveats() as notes:
        gap = scale_analysis(readme, tasks=["XNLI"], model_families=["XLM-R"])
    assert gap["setting"].eq("zero-shot -> translate-train-all").all()
    assert gap["model_type"].eq("ols").all()
    assert any("OLS with standard errors clustered by language" in n for n in notes)
    with collect_caveats() as notes:
        without = scale_analysis(readme, outcome="degradation", tasks=["MLQA"],
                                 settings=["zero-shot"], model_families=["XLM-R"],
                                 exclude_flags=(*EXCLUDED_FLAGS, "column_order"))
    assert int(without["n"].iloc[0]) == 20  # 4 models x 6 languages less XL/XXL es, ar
    assert not any("enter the fits" in n for n in notes)


def _scale_results(dist, rng_seed=1):
    """XLM-R Base..XXL x 12 languages, degradation with a known size x distance effect."""
    rng = np.random.default_rng(rng_seed)
    models = ["XLM-R Base", "XLM-R Large", "XLM-R XL", "XLM-R XXL"]
    lp = log_parameters(models)
    lpc = lp - lp.mean()
    dc = dist[LANGS] - dist[LANGS].mean()
    u = dict(zip(LANGS, rng.normal(0, 1.5, len(LANGS))))
    rows = []
    for m in models:
        rows.append(dict(model=m, language="en", score=85.0))
        for l in LANGS:
            deg = 8 - 3 * lpc[m] + 40 * dc[l] - 8 * lpc[m] * dc[l] + u[l] + rng.normal(0, 0.2)
            rows.append(dict(model=m, language=l, score=85.0 - deg))
    return validate_results(pd.DataFrame(rows).assign(
        setting="translate-train-all", intermediate_task="", target_task="XNLI",
        metric="accuracy", seed="", source="synthetic"))


def test_scale_analysis_recovers_known_effects(dist):
    res = _scale_results(dist)
    tab = scale_analysis(res, outcome="degradation", settings=["translate-train-all"])
    t = tab.set_index("term")
    assert t["model_type"].eq("mixed").all()
    assert t.loc["log_params", "estimate"] == pytest.approx(-3, abs=0.3)
    assert t.loc["syntactic", "estimate"] == pytest.approx(40, abs=8)
    assert t.loc["log_params:syntactic", "estimate"] == pytest.approx(-8, abs=2)
    assert t.loc["Intercept", "estimate"] == pytest.approx(8, abs=1.5)


def test_scale_errors(readme):
    with pytest.raises(ValueError) as exc:
        scale_analysis(readme, outcome="gaps")
    assert "outcome='gaps'" in _one_line(exc) and "did you mean 'gap'" in str(exc.value)
    with pytest.raises(ValueError) as exc:
        setting_gap(readme, settings="zero-shot")
    assert "settings='zero-shot'" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        setting_gap(readme, settings=("zero-shot", "translate-trian-all"))
    assert "did you mean 'translate-train-all'" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        scale_analysis(readme, model_families=["XLMR"])
    assert "model_families='XLMR'" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        scale_analysis(readme, min_models=1)
    assert "min_models=1" in _one_line(exc)


# --------------------------------------------------------------------------- leave-one-out


@pytest.fixture(scope="module")
def xnli_frame(readme):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataCaveatWarning)
        return analysis_frame(readme, tasks=["XNLI"], models=["XLM-R Large", "XLM-R Base"],
                              kinds=["syntactic"])


def test_leave_one_out_identity(xnli_frame):
    fr = xnli_frame
    loo = leave_one_out(fr, formula="degradation ~ syntactic + log_size")
    assert list(loo.columns[-len(LOO_COLUMNS):]) == LOO_COLUMNS
    grp = loo.groupby(["model", "setting", "run"])
    assert grp.ngroups == fr.groupby(["model", "setting", "run"]).ngroups
    for (model, setting, run), part in grp:
        sub = fr[(fr.model == model) & (fr.setting == setting) & (fr.run == run)]
        full = ols(sub, "degradation ~ syntactic + log_size").coefficients.set_index("term")
        assert part["full_estimate"].iloc[0] == pytest.approx(full.loc["syntactic", "estimate"])
        for r in part.head(4).itertuples():
            rest = sub[sub.language != r.left_out]
            fit = ols(rest, "degradation ~ syntactic + log_size").coefficients.set_index("term")
            b = fit["estimate"]
            assert r.estimate == pytest.approx(b["syntactic"], rel=1e-9)
            assert r.change == pytest.approx(b["syntactic"] - r.full_estimate)
            lo = sub[sub.language == r.left_out].iloc[0]
            pred = b["Intercept"] + b["syntactic"] * lo.syntactic + b["log_size"] * lo.log_size
            assert r.predicted == pytest.approx(pred)
            assert r.error == pytest.approx(lo.degradation - pred)
            assert r.n == len(rest) and r.n_left_out == 1
        assert part["mae"].iloc[0] == pytest.approx(part["abs_error"].mean())
        assert part["rmse"].iloc[0] == pytest.approx(np.sqrt((part["error"] ** 2).mean()))


def test_leave_one_family_out(xnli_frame):
    fr = xnli_frame[(xnli_frame.model == "XLM-R Large") & (xnli_frame.setting == "zero-shot")]
    loo = leave_one_out(fr, unit="family", by=())
    counts = fr["family"].value_counts()
    assert set(loo["left_out"]) == set(counts.index)
    ie = loo.set_index("left_out").loc["Indo-European"]
    assert ie["n_left_out"] == counts["Indo-European"]
    rest = fr[fr.family != "Indo-European"]
    slope = np.polyfit(rest.syntactic, rest.degradation, 1)[0]
    assert ie["estimate"] == pytest.approx(slope)
    assert int(loo["n_units"].iloc[0]) == len(counts)


def test_leave_one_out_from_results_and_errors(readme, xnli_frame):
    loo = leave_one_out(readme, tasks=["XNLI"], models=["XLM-R Large"])
    assert loo["term"].eq("syntactic").all() and set(loo["model"]) == {"XLM-R Large"}
    assert (loo["n_units"] == 14).all()
    with pytest.raises(ValueError) as exc:
        leave_one_out(xnli_frame, unit="genus")
    msg = _one_line(exc)
    assert "unit='genus'" in msg and "'language'" in msg and "'family'" in msg
    with pytest.raises(ValueError) as exc:
        leave_one_out(xnli_frame, formula="degradation ~ syntactic + (1 | task)")
    assert "random terms" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        leave_one_out(xnli_frame, term="genetic")
    assert "term='genetic'" in _one_line(exc)
    with pytest.raises(ValueError) as exc:
        leave_one_out(xnli_frame, formula="degradation")
    assert "formula='degradation'" in _one_line(exc)
