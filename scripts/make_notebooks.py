"""Generate the notebooks in ``notebooks/`` from the Python source below.

The notebooks are written without outputs and without execution counts, with
fixed cell ids, so that the committed files are reviewable and the same source
always gives byte-identical files.  Edit the cells here, never the ``.ipynb``
files, then run::

    python scripts/make_notebooks.py            # (re)write notebooks/*.ipynb
    python scripts/make_notebooks.py --check    # exit 1 if a notebook is out of date

``tests/test_notebooks.py`` executes every notebook (CI) and checks that the
committed files match this script.  Needs ``nbformat`` (the ``test`` extra).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def md(text: str) -> tuple[str, str]:
    return ("markdown", dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", dedent(text).strip("\n"))


SETUP = code(
    """
    %matplotlib inline
    import pandas as pd

    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.precision", 3)
    """
)

# --------------------------------------------------------------------------- 01

FIG_QUICK = code(
    """
    from xdist.plots import correlation_heatmap, degradation_by_family, degradation_vs_distance

    fig = degradation_vs_distance(frame, distance="syntactic", outcome="degradation", by="task", n_boot=1000, seed=0)
    fig
    """
)

QUICK_START = [
    md(
        """
        # Quick start: degradation versus typological distance

        A multilingual model fine-tuned on English loses accuracy on other languages, more on some
        than on others. xdist relates that loss (*degradation*) to the URIEL distance between English
        and the target language. This notebook walks through the main steps on the **published
        results shipped with xdist** (`data/results/`):

        1. load the results table and see what is in it;
        2. look up distances, and the *macrolanguage trap* of lang2vec codes;
        3. compute degradation joined with distances (the analysis table);
        4. correlate degradation with distance (UD-POS and XNLI), with bootstrap intervals;
        5. plot it.

        Runs in a few seconds. To keep it fast it uses 1,000 bootstrap resamples and 999
        permutations; the defaults (and `xdist correlate`) use 10,000 and 9,999.
        """
    ),
    SETUP,
    code(
        """
        from xdist.analyses import analysis_frame, correlate
        from xdist.caveats import collect_caveats
        from xdist.distances import distances
        from xdist.languages import iso639_3, language_info
        from xdist.results import load_shipped_results
        """
    ),
    md(
        """
        ## 1. The shipped results

        `load_shipped_results()` reads the curated per-language tables: scores printed in model and
        benchmark READMEs (XNLI, PAWS-X, XQuAD, MLQA, CoNLL-NER, a model-size series) and the UD-POS
        transfer matrix of de Vries et al. (2022). One row per score, in the documented results
        format (`docs/results-format.md`); every row names its `source`.
        """
    ),
    code(
        """
        res = load_shipped_results()
        print(res.shape)
        res.groupby("target_task").agg(
            rows=("score", "size"),
            models=("model", "nunique"),
            languages=("language", "nunique"),
            source_languages=("source_language", "nunique"),
        )
        """
    ),
    code(
        """
        res.loc[res.target_task == "XNLI", ["model", "setting", "language", "metric", "score", "run", "source"]].head()
        """
    ),
    md(
        """
        Known problems in the sources are **flagged, not fixed**. Rows flagged `duplicate` or
        `superseded` are excluded from analyses by default; `column_order` rows (language labels
        probably swapped in the source) are analysed but reported. The `note` column says why.
        """
    ),
    code(
        """
        res["flag"].replace("", "(none)").value_counts()
        """
    ),
    md(
        """
        ## 2. Distances and the macrolanguage trap

        URIEL (via the `lang2vec` package) describes languages by ISO 639-3 codes. Several common
        languages are *macrolanguages* whose lang2vec entry (`ara`, `zho`, `swa`, `fas`, `msa`) has
        no typological data. xdist therefore looks languages up under their **individual-language**
        codes by default (`ar -> arb` Standard Arabic, `zh -> cmn` Mandarin, ...).
        `codes="lang2vec"` reproduces the published lang2vec values instead.
        """
    ),
    code(
        """
        langs = ["de", "ar", "zh", "sw", "fa", "ms"]
        print("individual:", list(iso639_3(langs, mode="individual")))
        print("lang2vec:  ", list(iso639_3(langs, mode="lang2vec")))
        language_info(langs)[["code", "name", "iso639_3", "iso639_3_lang2vec", "family", "script"]]
        """
    ),
    code(
        """
        both = pd.concat([
            distances(langs, source="en", kinds=["syntactic", "genetic"], codes="individual"),
            distances(langs, source="en", kinds=["syntactic", "genetic"], codes="lang2vec"),
        ])
        both.pivot_table(index="target", columns=["kind", "codes"], values="distance", sort=False)
        """
    ),
    code(
        """
        both.loc[both.codes == "lang2vec"].pivot_table(index="target", columns="kind", values="imputed", sort=False)
        """
    ),
    md(
        """
        With lang2vec codes, Arabic, Chinese, Swahili, Persian and Malay all get **the same**
        syntactic distance from English: none of them has data under its macrolanguage code, so
        lang2vec's default vector stands in (`imputed` is `True`). Any correlation computed on such
        distances partly measures this artefact. With individual codes each language has its own
        data. See `docs/distances.md`.
        """
    ),
    md(
        """
        ## 3. Degradation joined with distances

        `analysis_frame` gives one row per experiment x target language: the score, the
        source-language score, `degradation = source score - target score` (points), the six URIEL
        distance kinds, and language facts (family, script, log pretraining size). Everything the
        analysis had to leave out or doubt is reported as a `DataCaveatWarning`; `collect_caveats()`
        gathers them.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            frame = analysis_frame(res, tasks=["XNLI", "UD-POS"], models=["XLM-R Base"])
        for note in notes:
            print("note:", note)
        frame = frame[frame.setting == "zero-shot"]
        frame.groupby("task").size()
        """
    ),
    code(
        """
        xnli = frame[frame.task == "XNLI"].sort_values("degradation")
        xnli[["language", "family", "score", "source_score", "degradation", "syntactic", "genetic", "log_size"]]
        """
    ),
    md(
        """
        ## 4. Correlation with distance

        `correlate` computes, per experiment and distance kind, the correlation between degradation
        and distance **over the target languages** (the language is the unit): the estimate, a BCa
        bootstrap interval that resamples languages, a permutation p-value, and a Holm-adjusted
        p-value across the whole table. `n` differs between distance kinds because languages
        without URIEL data in a kind are left out of that kind.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            tab = correlate(res, tasks=["UD-POS", "XNLI"], models=["XLM-R Base"], methods=["spearman"],
                            n_boot=1000, n_perm=999, seed=0)
        for note in notes:
            print("note:", note)
        tab = tab[tab.setting == "zero-shot"]
        tab[["task", "distance", "method", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "n"]]
        """
    ),
    md(
        """
        The table keeps the fixed result vocabulary (`estimate, ci_low, ci_high, p_value, p_adjusted,
        n`) followed by how it was computed (`ci_method, n_boot, n_perm, resample_unit, ...`), so it
        can be saved as-is. The adjustment covers every row that `correlate` returned (both settings
        of XNLI included), not only the rows shown.
        """
    ),
    code(
        """
        tab[["ci_method", "n_boot", "n_perm", "resample_unit", "adjust", "outcome", "distance_codes"]].drop_duplicates()
        """
    ),
    md(
        """
        ## 5. A figure

        Degradation against syntactic distance for each task: one point per target language, the
        least-squares line with a bootstrap band (languages resampled), and the language codes.
        About 80 UD-POS targets have a syntactic distance, against 14 for XNLI.
        """
    ),
    FIG_QUICK,
    md(
        """
        The whole correlation table at a glance (`*`: Holm-adjusted p < 0.05), and the per-language
        degradation of UD-POS grouped by language family. Languages of one family degrade alike,
        which is why `correlate(..., cluster="family")` and `xdist correlate --cluster family`
        resample whole families.
        """
    ),
    code(
        """
        correlation_heatmap(tab, method="spearman")
        """
    ),
    code(
        """
        degradation_by_family(frame, task="UD-POS", top=8)
        """
    ),
    md(
        """
        Each function returns a matplotlib `Figure` (nothing is shown or kept globally); save one
        with `fig.savefig("figure.pdf")`.

        ## Next

        - `02_mixed_models.ipynb`: one model across tasks (clustered SE, wild bootstrap, mixed models);
        - `03_intermediate_tasks.ipynb`: intermediate-task effects (on simulated data: the shipped data has none);
        - `04_scale.ipynb`: do larger models close the gap to far languages?
        - `05_your_own_results.ipynb`: analyse your own results file.

        The same analysis from the command line: `xdist correlate --task UD-POS --method spearman`.
        """
    ),
]

# --------------------------------------------------------------------------- 02

FIG_SLOPES = code(
    """
    from xdist.plots import forest

    forest(slopes, y="task", by=None, xlabel="slope on syntactic distance (points per unit), 95% Wald interval")
    """
)

FIG_RANDOM = code(
    """
    from xdist.plots import random_slopes

    random_slopes(f3, term="syntactic", group="task")
    """
)

MIXED = [
    md(
        """
        # One model across tasks: clustered SE, wild bootstrap, mixed models

        Per-task correlations (notebook 01) rest on 6-15 languages each for the XTREME tasks. Pooling
        the tasks into one regression uses all of them, but the rows are not independent: the same
        language appears in several tasks (and with several models), and languages of one family
        are alike. This notebook fits the same question several ways:

        1. least squares with task fixed effects and standard errors **clustered by language**;
        2. the **wild cluster bootstrap** over language *families*;
        3. a **mixed model** with random intercepts for task and language;
        4. a **random distance slope per task** - and what to do when the fit is singular;
        5. **likelihood-ratio tests**.

        Data: XLM-R Base and Large, zero-shot, fine-tuned on English; XNLI and PAWS-X (accuracy),
        XQuAD and MLQA (F1), UD-POS (accuracy). The bootstrap uses 1,999 draws here for speed
        (`xdist regress` defaults to 9,999). Runs in well under a minute.
        """
    ),
    SETUP,
    code(
        """
        import warnings

        from xdist.analyses import regress, regression_frame
        from xdist.caveats import collect_caveats
        from xdist.results import load_shipped_results
        from xdist.stats.mixed import fit_mixed, lrt

        res = load_shipped_results()
        TASKS = ["XNLI", "PAWS-X", "XQuAD", "MLQA", "UD-POS"]
        with collect_caveats() as notes:
            frame = regression_frame(res, tasks=TASKS, models=["XLM-R Base", "XLM-R Large"],
                                     metrics=["accuracy", "f1"])
        for note in notes:
            print("note:", note)
        """
    ),
    md(
        """
        `regression_frame` is the analysis table with all six distance kinds, `log_size` (log10 of
        the language's CC-100 pretraining data), `family` and the experiment columns. We keep the
        zero-shot rows, and drop rows without a syntactic distance or a pretraining size **once,
        explicitly**, so that every model below is fitted to the same rows (likelihood-ratio tests
        need that; `regress` would otherwise drop them per model with a warning).
        """
    ),
    code(
        """
        frame = frame[frame.setting == "zero-shot"]
        print(len(frame), "rows before dropping missing values")
        frame = frame.dropna(subset=["syntactic", "log_size"]).reset_index(drop=True)
        frame.groupby("task").agg(rows=("language", "size"), languages=("language", "nunique"),
                                  models=("model", "nunique"), mean_degradation=("degradation", "mean"))
        """
    ),
    code(
        """
        print(f"{len(frame)} rows, {frame.language.nunique()} languages, {frame.family.nunique()} families")
        print("correlation of syntactic distance and log pretraining size over languages:",
              round(frame.drop_duplicates("language")[["syntactic", "log_size"]].corr().iloc[0, 1], 2))
        """
    ),
    md(
        """
        UD-POS contributes most rows (about 80 target languages, one model); the XTREME tasks 6-14
        languages each. Distance and pretraining size are correlated across languages (far
        languages tend to have less data), so a model with both separates their effects only as well
        as the languages allow.

        ## 1. Least squares, standard errors clustered by language

        `C(task)` gives each task its own intercept (tasks differ in how much they degrade).
        Standard errors are CR1 clustered by language with t(G-1) inference. With and without the
        pretraining-size covariate:
        """
    ),
    code(
        """
        cols = ["term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "n_clusters", "inference"]
        ols_d = regress(frame, "degradation ~ syntactic + C(task)", cluster="language")
        ols_ds = regress(frame, "degradation ~ syntactic + log_size + C(task)", cluster="language")
        pd.concat({"syntactic only": ols_d.fixed[cols], "+ log_size": ols_ds.fixed[cols]}).query(
            "term in ['syntactic', 'log_size']").droplevel(1)
        """
    ),
    md(
        """
        Compare the two `syntactic` rows: how much of the distance effect survives once pretraining
        size is in the model is the confounding question. Far languages have less pretraining data,
        and 82 languages separate the two only partly.

        ## 2. Wild cluster bootstrap over families

        Languages of one family share typology *and* often resources, so clustering by language may
        understate the uncertainty. With few clusters (here ~20 families) the cluster-robust t test
        over-rejects; the wild cluster bootstrap-t (null imposed, interval by test inversion) holds
        its level much better. `bootstrap=N` asks for it; `seed` makes it reproducible.
        """
    ),
    code(
        """
        boot = regress(frame, "degradation ~ syntactic + log_size + C(task)", cluster="family",
                       bootstrap=1999, seed=0)
        boot.fixed[cols + ["n_boot", "boot_weights"]].query("term in ['syntactic', 'log_size']")
        """
    ),
    md(
        """
        ## 3. Mixed model: random intercepts for task and language

        Instead of task fixed effects and a sandwich, model the two sources of dependence directly:
        `(1 | task)` lets each task degrade by its own amount, `(1 | language)` lets each language
        be easier or harder than its distance and size predict (across tasks and models). Task and
        language are crossed. Fitted by REML; the fixed effects use Wald z tests.
        """
    ),
    code(
        """
        m1 = regress(frame, "degradation ~ syntactic + log_size + (1 | task) + (1 | language)")
        display(m1.fixed)
        display(m1.random)
        print({k: m1.fit[k] for k in ["loglik", "converged", "singular", "n_obs", "n_groups"]})
        print("warnings:", m1.warnings)
        """
    ),
    md(
        """
        With five tasks, Wald z tests on the fixed effects are anti-conservative; prefer the
        likelihood-ratio test (section 5) or `regress(..., bootstrap=N)`, which resamples whole
        languages.

        ## 4. A random distance slope per task, and the singular fit

        Does the distance slope differ between tasks? The lme4 way is a random slope,
        `(1 + syntactic | task)`. Because task is crossed with language, statsmodels' MixedLM can
        fit the slope only as an *independent* variance component: xdist says so
        (`RandomStructureWarning`), so we write the uncorrelated form `(syntactic || task)` directly.
        """
    ),
    code(
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the messages are kept in m2.warnings
            m2 = regress(frame, "degradation ~ syntactic + log_size + (syntactic || task) + (1 | language)")
        display(m2.random)
        print("singular:", m2.fit["singular"])
        for w in m2.warnings:
            print(w)
        """
    ),
    md(
        """
        A **singular (boundary) fit**: the variance of the task intercepts is estimated at ~0 once
        the slopes vary, so this random structure is more than five tasks can support. Such a fit
        is not an error, but it should not be read as a well-identified random-effects model, and
        xdist never passes it off as one. The warning names two ways out.

        **(a) Drop the variance that collapsed.** Without `(1 | task)` the task differences are
        carried by the random slopes alone; the fit is no longer on the boundary and has the same
        likelihood. Each task's slope is then the fixed slope plus the task's predicted deviation
        (BLUP), shrunk towards the common slope:
        """
    ),
    code(
        """
        f3 = fit_mixed(frame, "degradation ~ syntactic + log_size + (0 + syntactic | task) + (1 | language)")
        print("singular:", f3.fit["singular"], "| loglik:", round(f3.fit["loglik"], 3),
              "(singular fit:", round(m2.fit["loglik"], 3), ") | warnings:", f3.warnings)
        f3.random
        """
    ),
    FIG_RANDOM,
    md(
        """
        **(b) Estimate each task's slope as a fixed effect** (a distance x task interaction), the
        usual choice with few groups: no shrinkage, no variance to estimate. Written as
        `0 + C(task) + C(task):syntactic`, the coefficients are the per-task intercepts and slopes
        themselves:
        """
    ),
    code(
        """
        m3 = regress(frame, "degradation ~ 0 + C(task) + C(task):syntactic + log_size + (1 | language)")
        slopes = m3.fixed[m3.fixed.term.str.endswith(":syntactic")].copy()
        slopes["task"] = slopes.term.str.extract(r"\\[(.*)\\]", expand=False)
        print("singular:", m3.fit["singular"], "| warnings:", m3.warnings)
        slopes[["task", "estimate", "se", "ci_low", "ci_high", "p_value"]]
        """
    ),
    FIG_SLOPES,
    md(
        """
        The per-task slopes come with wide intervals: 6-14 languages per XTREME task cannot pin a
        slope down once pretraining size is also in the model. UD-POS, with ~80 languages, is the
        best-determined.

        ## 5. Likelihood-ratio tests

        `xdist.stats.mixed.lrt` compares two nested fits on the same rows:

        - **random slope**: fits differing only in random terms are compared on their REML
          likelihoods (lme4's `anova(refit = FALSE)`). The null puts a variance on the boundary, so
          the chi-square p-value is conservative (about twice too large for one variance).
        - **fixed effect of distance**: REML likelihoods of different fixed effects are not
          comparable, so both fits are refitted by ML first (`method` says `ML (refit)`).
        """
    ),
    code(
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the singular fit was discussed above
            f0 = fit_mixed(frame, "degradation ~ log_size + (1 | task) + (1 | language)")
            f1 = fit_mixed(frame, "degradation ~ syntactic + log_size + (1 | task) + (1 | language)")
            f2 = fit_mixed(frame, "degradation ~ syntactic + log_size + (syntactic || task) + (1 | language)")
        tests = pd.concat([lrt(f1, f2), lrt(f0, f1)], ignore_index=True)
        tests.insert(0, "question", ["random slope per task?", "syntactic distance (given log_size)?"])
        tests[["question", "loglik_small", "loglik_big", "chi2", "df", "p_value", "method"]]
        """
    ),
    md(
        """
        ## What to take away

        - Pooled over tasks, the distance effect depends on whether pretraining size is controlled
          for; the two are confounded across the available languages. Once `log_size` is in the
          model, the syntactic slope's interval covers 0 in every fit above, and the
          likelihood-ratio test agrees.
        - Family-clustered bootstrap intervals are wider than language-clustered ones: treat the
          family, not the language, as the unit the result generalises over.
        - Five tasks are too few to estimate both a random intercept and a random slope per task
          (singular fit). Drop the collapsed variance, or estimate the per-task slopes as fixed
          effects and report their (wide) intervals.

        The same fits from the command line: save the table (`frame.to_csv("frame.csv",
        index=False)`) and run `xdist regress --data frame.csv --formula "degradation ~ syntactic +
        log_size + (1 | task) + (1 | language)"`; or let `xdist regress --results ... --task ...`
        build the table (`--setting zero-shot` keeps one setting). See `docs/regression.md` and
        `docs/mixed-models.md`.
        """
    ),
]

# --------------------------------------------------------------------------- 03

FIG_GAIN = code(
    """
    from xdist.plots import gain_vs_distance

    fig = gain_vs_distance(gains, dist.rename_axis("language").reset_index(name="syntactic"), distance="syntactic")
    fig.suptitle("SIMULATED data - not a real result", color="firebrick")
    fig
    """
)

INTERMEDIATE = [
    md(
        """
        # Intermediate-task training: what the shipped data has, and the analysis on simulated data

        Phang et al. (2020, X-STILTs) trained XLM-R on an English *intermediate task* (MNLI, SQuAD,
        ...) before fine-tuning on the English target task, and asked whether that helps zero-shot
        transfer. xdist's questions are per language: **how much does intermediate training add in
        each target language** (`intermediate_gains`), and **does it change the distance slope**
        (`intermediate_slope`)?

        > **The shipped data cannot answer either.** X-STILTs is published only as task averages
        > over languages. Sections 2-3 below run the analyses on a **SIMULATED** results table with
        > known effects, to show what the functions compute and how to read them. Nothing in those
        > sections is a finding about real models.

        Runs in a few seconds (bootstrap: 2,000 resamples; default 10,000).
        """
    ),
    SETUP,
    code(
        """
        import numpy as np

        from xdist.analyses import analysis_frame, intermediate_gains, intermediate_slope
        from xdist.caveats import collect_caveats
        from xdist.distances import distances
        from xdist.results import load_shipped_results, shipped_results_paths, validate_results
        """
    ),
    md(
        """
        ## 1. The shipped data: no per-language intermediate-task rows

        The per-language results have no row with a non-empty `intermediate_task`, and the
        functions say so instead of returning an empty table:
        """
    ),
    code(
        """
        res = load_shipped_results()
        print("rows with an intermediate task:", (res.intermediate_task != "").sum())
        try:
            intermediate_gains(res)
        except ValueError as err:
            print("ValueError:", err)
        """
    ),
    md(
        """
        What *is* published is the XTREME task average of X-STILTs (XLM-R Large with the best
        intermediate task for each target task) next to plain XLM-R Large, both printed in the mT5
        README (`data/results/published_task_averages.csv`; this file is not a per-language results
        table and is read with pandas directly):
        """
    ),
    code(
        """
        averages_file = shipped_results_paths()[0].parent / "published_task_averages.csv"
        avg = pd.read_csv(averages_file, keep_default_na=False)
        pair = avg[(avg.run == "mt5-readme") & avg.model.isin(["XLM-R Large", "XLM-R Large (X-STILTs)"])]
        wide = pair.pivot_table(index=["target_task", "metric", "n_languages"], columns="model",
                                values="score").reset_index()
        wide["difference"] = wide["XLM-R Large (X-STILTs)"] - wide["XLM-R Large"]
        wide.sort_values("difference", ascending=False)
        """
    ),
    code(
        """
        stilts = pair[pair.model == "XLM-R Large (X-STILTs)"].iloc[0]
        print("intermediate_task:", stilts["intermediate_task"])
        print("source:", stilts["source"])
        """
    ),
    md(
        """
        These are averages over 7-40 languages, with the intermediate task chosen per target task.
        An average cannot be matched language by language with its baseline, so neither the
        per-language gain nor its relation to distance can be recovered from it. For that you need
        per-language scores with and without intermediate training, e.g. from xdist's training
        core or curated from a paper's appendix, in the results format.

        ## 2. A SIMULATED results table

        To show the analyses we simulate XNLI-like results for 14 real target languages, with their
        real syntactic distances from English, and effects we choose:

        | intermediate task | English score | degradation of language *l* |
        |---|---|---|
        | none (baseline) | 80 | 5 + 40 d(l) + u(l) |
        | MNLI | 82 | 5 + 30 d(l) + u(l) (slope 10 points flatter) |
        | SQuAD | 79 | 5 + 40 d(l) + u(l) (no change) |

        `u(l)` ~ N(0, 2) is a language effect shared by all three, and each score gets N(0, 0.5)
        seed noise, for 3 seeds. So the **true gain** of MNLI in language *l* is `2 + 10 d(l)`, of
        SQuAD `-1`, and the **true slope change** is -10 for MNLI and 0 for SQuAD. The `source`
        column of every row says `SIMULATED`.
        """
    ),
    code(
        """
        LANGS = ["de", "fr", "es", "ru", "bg", "el", "tr", "ar", "hi", "ur", "vi", "th", "zh", "sw"]
        dist = distances(LANGS, source="en", kinds="syntactic").set_index("target")["distance"]
        TRUTH = {"": (80.0, 40.0), "MNLI": (82.0, 30.0), "SQuAD": (79.0, 40.0)}  # English score, slope

        rng = np.random.default_rng(0)
        u = dict(zip(LANGS, rng.normal(0, 2.0, len(LANGS))))
        rows = []
        for task, (english, slope) in TRUTH.items():
            for seed in (1, 2, 3):
                rows.append(dict(intermediate_task=task, language="en", seed=seed,
                                 score=english + rng.normal(0, 0.5)))
                for lang in LANGS:
                    degradation = 5 + slope * dist[lang] + u[lang]
                    rows.append(dict(intermediate_task=task, language=lang, seed=seed,
                                     score=english - degradation + rng.normal(0, 0.5)))
        simulated = validate_results(pd.DataFrame(rows).assign(
            model="XLM-R Large", setting="zero-shot", target_task="XNLI", metric="accuracy",
            source="SIMULATED (notebooks/03_intermediate_tasks.ipynb), not a real result"))
        simulated.groupby("intermediate_task", sort=False).agg(rows=("score", "size"), seeds=("seed", "nunique"))
        """
    ),
    md(
        """
        ## 3. Gains per language and on average (simulated)

        `intermediate_gains` matches each intermediate-task score with the baseline of the same
        model, setting, task, metric and language. Where both sides share seeds, the gain is the mean
        of the per-seed differences (`paired`). The `level == "mean"` rows average over target
        languages with a bootstrap interval that resamples languages.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            gains = intermediate_gains(simulated, n_boot=2000, seed=0)
        print("caveats:", notes)
        per_lang = gains[gains.level == "language"]
        mean = gains[gains.level == "mean"].set_index("intermediate_task")
        truth_mean = {"MNLI": 2 + 10 * dist[LANGS].mean(), "SQuAD": -1.0}
        mean.assign(true_value=pd.Series(truth_mean))[["estimate", "se", "ci_low", "ci_high", "n",
                                                       "ci_method", "true_value"]]
        """
    ),
    code(
        """
        mnli = per_lang[per_lang.intermediate_task == "MNLI"].set_index("language")
        mnli.assign(true_gain=2 + 10 * dist.reindex(mnli.index).fillna(0))[
            ["estimate", "se", "n_seeds_with", "paired", "true_gain"]].round(2)
        """
    ),
    FIG_GAIN,
    md(
        """
        ## 4. Does intermediate training change the distance slope? (simulated)

        `intermediate_slope` fits, per experiment,
        `degradation ~ distance * intermediate + log_size + (1 | language)` with "no intermediate
        training" as the reference: `syntactic:MNLI` is the change of the distance slope under MNLI
        (`quantity == "slope_change"`). If the mixed fit is singular it falls back to OLS with
        language-clustered SE and says so.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            slope = intermediate_slope(simulated, distance="syntactic")
        print("caveats:", notes)
        change = slope[slope.quantity == "slope_change"].set_index("intermediate_task")
        change = change.assign(true_value=pd.Series({"MNLI": -10.0, "SQuAD": 0.0}))
        change["truth_in_ci"] = (change.ci_low <= change.true_value) & (change.true_value <= change.ci_high)
        change[["term", "estimate", "se", "ci_low", "ci_high", "p_value", "model_type", "true_value", "truth_in_ci"]]
        """
    ),
    md(
        """
        On this simulation the functions recover the effects that were put in, within their
        intervals (the table shows whether each 95% interval covers the true value; by design about
        1 in 20 will not). Again: **these numbers are about the simulation, not about X-STILTs.**

        ## With your own runs

        Put your scores with and without intermediate training in one results file (the column
        `intermediate_task` empty for the baseline, e.g. `MNLI` otherwise; see
        `05_your_own_results.ipynb` and `docs/results-format.md`), then:

        ```
        xdist intermediate gains --results my_runs.csv
        xdist intermediate slope --results my_runs.csv
        ```
        """
    ),
]

# --------------------------------------------------------------------------- 04

SCALE = [
    md(
        """
        # Do larger models close the gap to far languages?

        If larger multilingual models transfer better, degradation should shrink with size, and
        perhaps most for languages far from English (a flatter distance slope). This notebook asks
        that of the only per-language size series in the shipped data, **XLM-R Base (250M), Large
        (560M), XL (3.5B), XXL (10.7B)**, and shows what the data can and cannot answer.

        Two analyses (`docs/analyses.md`):

        - `setting_gap`: per language, the points that translate-train-all adds over English-only
          (zero-shot) fine-tuning;
        - `scale_analysis`: `outcome ~ log_params * distance + (1 | language)` across model sizes.

        Runs in a few seconds.
        """
    ),
    SETUP,
    code(
        """
        from xdist.analyses import scale_analysis, setting_gap
        from xdist.caveats import collect_caveats
        from xdist.pretrained import model_info
        from xdist.results import EXCLUDED_FLAGS, load_shipped_results

        res = load_shipped_results()
        XLMR = ["XLM-R Base", "XLM-R Large", "XLM-R XL", "XLM-R XXL"]
        model_info(XLMR)[["model", "parameters", "printed", "source"]]
        """
    ),
    md(
        """
        ## 1. What the shipped data has

        Number of target-and-source languages per task, setting, metric and size (duplicate copies
        excluded). Zero-shot XNLI exists for two sizes only; XL and XXL are published for XNLI only
        with translate-train-all, and for MLQA (7 languages) zero-shot.
        """
    ),
    code(
        """
        kept = res[res.model.isin(XLMR) & ~res.flag.isin(EXCLUDED_FLAGS)]
        kept.pivot_table(index=["target_task", "setting", "metric"], columns="model", values="language",
                         aggfunc="nunique")[XLMR]
        """
    ),
    md(
        """
        ## 2. The setting gap: what translate-train-all adds, per language

        `setting_gap` pairs each (model, language) score in the two settings. Only Base and Large
        have both settings on XNLI; the caveat lists what was left out.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            gap = setting_gap(res, tasks=["XNLI"], model_families=["XLM-R"])
        for note in notes:
            print("note:", note)
        gap[["model", "language", "score_a", "score_b", "gap", "syntactic"]].head()
        """
    ),
    code(
        """
        from xdist.plots import degradation_vs_distance

        # any tidy table with language, a distance and an outcome column works
        degradation_vs_distance(gap, distance="syntactic", outcome="gap", by="model", n_boot=1000, seed=0)
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            gap_fit = scale_analysis(res, tasks=["XNLI"], model_families=["XLM-R"])
        for note in notes[-1:]:
            print("note:", note)
        gap_fit[["setting", "term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "n_models", "model_type"]]
        """
    ),
    md(
        """
        Translate-train-all adds more on syntactically far languages (`syntactic`). Whether that
        shrinks with size (`log_params:syntactic`, per tenfold parameters) rests on **two** models:
        with fewer than `min_models=3` sizes there is no random intercept, OLS with
        language-clustered SE is reported, and a "size effect" is a contrast between two models,
        not a trend.

        ## 3. Degradation across four sizes, and the `column_order` caveat

        `outcome="degradation"` fits each setting separately. XNLI translate-train-all and MLQA
        zero-shot have all four sizes.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            deg = scale_analysis(res, outcome="degradation", tasks=["XNLI", "MLQA"], model_families=["XLM-R"])
        for note in notes:
            print("note:", note)
        deg[deg.term == "log_params:syntactic"][["task", "setting", "metric", "estimate", "se", "p_value",
                                                "n", "n_models", "model_type"]]
        """
    ),
    md(
        """
        The MLQA zero-shot interaction looks large and clear. But one caveat names the analysed rows
        flagged `column_order`: in the fairseq README the XL and XXL MLQA rows are printed under the
        header `en|es|de|ar|...`, yet their values look ordered `en|ar|de|es|...`. Look at the F1
        scores by size:
        """
    ),
    code(
        """
        mlqa = res[(res.target_task == "MLQA") & (res.metric == "f1") & res.model.isin(XLMR)
                   & ~res.flag.isin(EXCLUDED_FLAGS)]
        mlqa.pivot_table(index="language", columns="model", values="score")[XLMR]
        """
    ),
    code(
        """
        print(res.loc[(res.flag == "column_order") & res.model.isin(XLMR), "note"].iloc[0])
        """
    ),
    md(
        """
        As printed, Spanish *drops* from 74.1 (Large) to the mid-60s (XL, XXL) while Arabic jumps,
        which is what swapped labels would produce. The data keeps the printed values (nothing is
        silently fixed) and lets us check the estimate without those rows:
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            clean = scale_analysis(res, outcome="degradation", tasks=["MLQA"], settings=["zero-shot"],
                                   model_families=["XLM-R"], exclude_flags=(*EXCLUDED_FLAGS, "column_order"))
        both = pd.concat({
            "all rows": deg[(deg.task == "MLQA") & (deg.term == "log_params:syntactic")].set_index("metric"),
            "without column_order": clean[clean.term == "log_params:syntactic"].set_index("metric"),
        })
        both[["estimate", "se", "ci_low", "ci_high", "p_value", "n"]]
        """
    ),
    md(
        """
        Without the doubtful cells (Spanish and Arabic of XL and XXL: four per metric) the
        interaction shrinks and its interval covers 0: the apparent effect rests on them.

        ## What the shipped data can and cannot answer

        - **Can**: illustrate the analyses; show that in XNLI translate-train-all, degradation falls
          with XLM-R size (see the `log_params` row below) - but that setting saw machine-translated
          target-language data, so it is not the zero-shot question.
        - **Cannot**: say whether size changes the **zero-shot** distance slope. XNLI zero-shot has
          two sizes; MLQA has six target languages and doubtful cells. That needs per-language
          zero-shot scores for a size series (mT5 Small..XXL is published only as averages; or
          XLM-R Base..XXL runs from the training core).
        """
    ),
    code(
        """
        deg[(deg.task == "XNLI") & (deg.setting == "translate-train-all")][
            ["term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "n_models", "model_type"]]
        """
    ),
]

# --------------------------------------------------------------------------- 05

OWN = [
    md(
        """
        # Bringing your own results

        Everything xdist analyses is one long table: one score per row, in the format documented in
        `docs/results-format.md`. This notebook writes a small results file, reads it with
        validation (and shows the errors validation catches), then correlates and regresses on it.
        The training core (`xdist.train`, in progress) is meant to write its evaluation scores in
        this same format, so its output will go through the same steps.

        The scores below are **made up for illustration**. Runs in a few seconds (bootstrap:
        1,000 resamples).
        """
    ),
    SETUP,
    code(
        """
        import tempfile
        from pathlib import Path

        from xdist.analyses import correlate, regress, regression_frame
        from xdist.caveats import collect_caveats
        from xdist.results import ResultsError, load_shipped_results, read_results

        workdir = Path(tempfile.mkdtemp(prefix="xdist-notebook-"))
        """
    ),
    md(
        """
        ## 1. Write a results file

        Required columns: `model, setting, intermediate_task, target_task, language, metric, score,
        seed, source`; optional: `source_language` (default `en`), `run`, `split`, `note`, `flag`.
        Language codes may be ISO 639-1 or 639-3. Each experiment (here: one model, zero-shot XNLI,
        one seed) must include its source-language (English) row, because degradation is measured
        against it. Two seeds of a made-up model; accuracies written as fractions, as many
        evaluation scripts print them:
        """
    ),
    code(
        '''
        CSV = """\\
        model,setting,intermediate_task,target_task,language,metric,score,seed,source
        my-model,zero-shot,,XNLI,en,accuracy,0.853,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,de,accuracy,0.781,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,fr,accuracy,0.792,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,ru,accuracy,0.764,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,tr,accuracy,0.731,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,hi,accuracy,0.702,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,sw,accuracy,0.655,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,ur,accuracy,0.671,1,runs/xnli/seed1/eval.json
        my-model,zero-shot,,XNLI,en,accuracy,0.849,2,runs/xnli/seed2/eval.json
        my-model,zero-shot,,XNLI,de,accuracy,0.775,2,runs/xnli/seed2/eval.json
        my-model,zero-shot,,XNLI,fr,accuracy,0.788,2,runs/xnli/seed2/eval.json
        my-model,zero-shot,,XNLI,ru,accuracy,0.770,2,runs/xnli/seed2/eval.json
        my-model,zero-shot,,XNLI,tr,accuracy,0.722,2,runs/xnli/seed2/eval.json
        my-model,zero-shot,,XNLI,hi,accuracy,0.709,2,runs/xnli/seed2/eval.json
        my-model,zero-shot,,XNLI,sw,accuracy,0.648,2,runs/xnli/seed2/eval.json
        my-model,zero-shot,,XNLI,ur,accuracy,0.660,2,runs/xnli/seed2/eval.json
        """
        path = workdir / "my_runs.csv"
        path.write_text(CSV)
        print(path)
        '''
    ),
    md(
        """
        ## 2. Read it, with validation

        `read_results` never guesses: scores that all lie in [0, 1] look like fractions, and it
        stops with a one-line `ResultsError` (a `ValueError`) naming the file and group and saying
        what to do:
        """
    ),
    code(
        """
        try:
            read_results(path)
        except ResultsError as err:
            print("ResultsError:", err)
        """
    ),
    md("Two more mistakes it catches - a mistyped language code, and a missing English row:"),
    code(
        """
        typo = workdir / "typo.csv"
        typo.write_text(CSV.replace(",ur,", ",urd_,", 1))
        no_source = workdir / "no_source.csv"
        no_source.write_text("".join(line for line in CSV.splitlines(keepends=True)
                                     if not line.startswith("my-model,zero-shot,,XNLI,en,accuracy,0.853")))
        for bad in (typo, no_source):
            try:
                read_results(bad, scale="fraction")
            except ResultsError as err:
                print("ResultsError:", err, end="\\n\\n")
        """
    ),
    md("With the scale stated, the file loads; scores are converted to percent and codes canonicalised:"),
    code(
        """
        mine = read_results(path, scale="fraction")
        mine[["model", "language", "metric", "score", "seed", "source_language", "origin"]].head()
        """
    ),
    md(
        """
        ## 3. Correlate

        The same call as on the shipped data. Seeds are averaged per language first (the language
        is the unit). Seven target languages are very few: the caveats say so, and the intervals
        are wide.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            tab = correlate(mine, distances=["syntactic", "genetic", "geographic"], methods=["spearman"],
                            n_boot=1000, n_perm=999, seed=0)
        for note in notes:
            print("note:", note)
        tab[["task", "model", "distance", "method", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "n"]]
        """
    ),
    md(
        """
        ## 4. Regress

        `regression_frame` builds the analysis table (degradation per language, averaged over
        seeds, with distances, family and `log_size`); `regress` fits any formula over its columns.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            frame = regression_frame(mine)
        frame[["language", "family", "n_seeds", "degradation", "syntactic", "log_size"]]
        """
    ),
    code(
        """
        rep = regress(frame, "degradation ~ syntactic", cluster="language")
        display(rep.fixed[["term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "inference"]])
        for w in rep.warnings:
            print("warning:", w)
        """
    ),
    md(
        """
        The warning is the honest answer for seven languages: cluster-robust inference needs more
        clusters. With more languages, add covariates (`+ log_size`), cluster by family, or use the
        wild bootstrap (`bootstrap=9999`); with several tasks, see `02_mixed_models.ipynb`.

        ## 5. Next to the published results

        Files read together (`read_results([a, b])`) must share a scale, and keys must be unique
        across them. Here our file is in fractions and the shipped files in percent, so read them
        separately (each validated) and concatenate the validated tables:
        """
    ),
    code(
        """
        combined = pd.concat([mine, load_shipped_results()], ignore_index=True)
        with collect_caveats():
            side = correlate(combined, tasks=["XNLI"], models=["my-model", "XLM-R Base"], distances=["syntactic"],
                             methods=["spearman"], n_boot=1000, n_perm=999, seed=0)
        side[["model", "setting", "run", "estimate", "ci_low", "ci_high", "n"]]
        """
    ),
    md(
        """
        From the command line the same file works directly:

        ```
        xdist correlate --results my_runs.csv --scale fraction --method spearman
        xdist regress --results my_runs.csv --scale fraction --formula "degradation ~ syntactic"
        ```
        """
    ),
    code(
        """
        import shutil

        shutil.rmtree(workdir)  # the temporary files of this notebook
        """
    ),
]

# --------------------------------------------------------------------------- 06

SETTINGS = [
    md(
        """
        # Comparing training settings: adapters, multi-task and multilingual intermediate training, LLMs

        The training core writes each way of training as a `setting` value (`xdist.settings`):
        `zero-shot` is full fine-tuning on English, `zero-shot+lora` LoRA adapters,
        `zero-shot+multilingual-intermediate` intermediate training on several languages,
        `llm-0shot`/`llm-5shot` a decoder LLM prompted with 0 or 5 English demonstrations; a
        multi-task intermediate phase is an `intermediate_task` naming several tasks (`"MNLI,QQP"`).
        Every question here is a comparison between two settings of one results table
        (`xdist.analyses.compare`, `xdist compare ...`):

        | question | function |
        | --- | --- |
        | what does a setting add per language, and on average? | `gap_summary` |
        | does it add more on far languages? | `gap_slope` |
        | does multi-task intermediate training beat single-task, and where? | `multitask_gains` |
        | does the gap shrink with model size? | `gap_scale` |
        | does an LLM degrade with distance like an encoder? | `slope_comparison` |

        Section 1 runs them on **published results shipped with xdist**: zero-shot versus
        translate-train-all on XNLI, a genuine two-settings comparison.

        > **No published per-language results exist for adapters, multilingual intermediate training
        > or LLM prompting in the shipped data. Section 2 uses a SIMULATED results table, built in
        > this notebook with effects chosen by hand (model names `sim-*`), only to show what the
        > functions compute and how to read them. Nothing in section 2 is a finding about real
        > models.**

        Runs in a few seconds (bootstrap: 1,000 resamples; the default is 10,000).
        """
    ),
    SETUP,
    code(
        """
        import numpy as np

        from xdist.analyses import gap_scale, gap_slope, gap_summary, multitask_gains, setting_gap, slope_comparison
        from xdist.caveats import collect_caveats
        from xdist.distances import distances
        from xdist.results import load_shipped_results, validate_results

        res = load_shipped_results()
        FAST = dict(n_boot=1000, seed=0)
        """
    ),
    md(
        """
        ## 1. Published data: what translate-train-all adds over zero-shot (XNLI)

        `gap_summary` matches the two settings per model, language and metric (seed means, runs
        matched across sources) and gives `gap = score(setting) - score(reference)` per language
        plus its mean over the target languages, with a BCa interval from resampling languages.
        `n_positive` counts the languages where the setting wins.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            tta = gap_summary(res, setting="translate-train-all", reference="zero-shot", tasks=["XNLI"], **FAST)
        tta[tta.level == "mean"][["model", "estimate", "ci_low", "ci_high", "n", "n_positive"]]
        """
    ),
    code(
        """
        for n in notes:
            print("note:", n)
        """
    ),
    md(
        """
        Does the gain grow with syntactic distance? `gap_slope` regresses the per-language gap on
        distance kinds by OLS with standard errors clustered by language (or `cluster="family"`).
        """
    ),
    code(
        """
        with collect_caveats():
            slope = gap_slope(res, setting="translate-train-all", reference="zero-shot", tasks=["XNLI"],
                              distances=["syntactic"])
        slope[slope.term == "syntactic"][["model", "estimate", "se", "ci_low", "ci_high", "p_value", "n"]]
        """
    ),
    code(
        """
        import matplotlib.pyplot as plt

        with collect_caveats():
            g = setting_gap(res, settings=("zero-shot", "translate-train-all"), tasks=["XNLI"],
                            models=["XLM-R Base", "XLM-R Large"], distances=["syntactic"])
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for model, part in g.groupby("model"):
            ax.scatter(part["syntactic"], part["gap"], label=model)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("syntactic distance from English")
        ax.set_ylabel("translate-train-all - zero-shot (points)")
        ax.legend(frameon=False)
        fig.tight_layout()
        """
    ),
    md(
        """
        The same question from the other side: the distance slope of degradation in each setting
        and the difference of the slopes (`slope_comparison`, here each model against its own
        zero-shot with `match_models=True`). The interval resamples languages, refitting both slopes
        on each resample (paired: both settings were evaluated on the same 14 languages).
        """
    ),
    code(
        """
        with collect_caveats():
            sl = slope_comparison(res, settings=["translate-train-all"], reference="zero-shot", tasks=["XNLI"],
                                  match_models=True, **FAST)
        sl[sl.quantity == "slope_difference"][["model", "estimate", "ci_low", "ci_high", "n_shared", "method"]]
        """
    ),
    md(
        """
        Across model sizes (`gap_scale`): only XLM-R Base and Large have both settings with a
        published parameter count, so the size coefficient is a contrast between two models, and a
        caveat says so.
        """
    ),
    code(
        """
        with collect_caveats() as notes:
            sc = gap_scale(res, setting="translate-train-all", reference="zero-shot", tasks=["XNLI"],
                           model_families=["XLM-R"], distance="syntactic")
        print("\\n".join(n for n in notes if "two model sizes" in n))
        sc[["term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "models"]]
        """
    ),
    md(
        """
        ## 2. SIMULATED data: the new settings

        > **SIMULATED.** The table below is generated here with hand-chosen effects; the models
        > `sim-S` ... `sim-XL` and `sim-LLM` do not exist. It only shows the shape of the analyses.

        Effects built in (per language `l` at syntactic distance `d_l`, model size `p`):

        - full fine-tuning (`zero-shot`): `85 + 2 log10(p/1e9) - (40 - 6 log10(p/1e9)) d_l`;
          intermediate training on MNLI adds 1.5, on QQP 0.5;
        - LoRA adapters (`zero-shot+lora`): `-3 + 6 d_l` relative to full fine-tuning (English: -1.5);
          multi-task `MNLI,QQP` adds 2.5 on top of no intermediate training, minus 3 in Swahili;
        - multilingual intermediate training (MNLI data in many languages):
          `3 - 1.5 log10(p/1e9) + 5 d_l` over English MNLI;
        - `sim-LLM` (no fine-tuning): `llm-0shot` slope 20, `llm-5shot` slope 25, not evaluated in
          Swahili and Urdu;
        - language effects `u_l ~ N(0, 1)`, two seeds with noise `N(0, 0.3)`.
        """
    ),
    code(
        """
        rng = np.random.default_rng(2026)
        LANGS = ["de", "fr", "es", "ru", "ar", "zh", "hi", "tr", "fi", "ja", "sw", "el", "bg", "th", "ur", "vi"]
        dist = distances(LANGS, source="en", kinds=["syntactic"]).set_index("target")["distance"]
        u = dict(zip(LANGS, rng.normal(0, 1, len(LANGS))))
        SIZES = {"sim-S": 1e8, "sim-M": 3e8, "sim-L": 1e9, "sim-XL": 3e9}

        def score(lang, base, slope):
            return base - (slope * dist[lang] + u[lang] if lang != "en" else 0.0)

        rows = []
        def add(model, setting, it, fn, langs=LANGS):
            for lang in ["en", *langs]:
                for seed in (1, 2):
                    rows.append(dict(model=model, setting=setting, intermediate_task=it, language=lang,
                                     seed=seed, score=fn(lang) + rng.normal(0, 0.3)))

        for model, p in SIZES.items():
            s = np.log10(p / 1e9)
            full = lambda lang, s=s: score(lang, 85 + 2 * s, 40 - 6 * s)
            inter = {"": 0.0, "MNLI": 1.5, "QQP": 0.5}
            for it, add_it in inter.items():
                add(model, "zero-shot", it, lambda l, a=add_it: full(l) + a)
                lora = lambda l, a=add_it: full(l) + a + (-3 + 6 * dist[l] if l != "en" else -1.5)
                add(model, "zero-shot+lora", it, lora)
            add(model, "zero-shot+lora", "MNLI,QQP",
                lambda l: full(l) + 2.5 - 3.0 * (l == "sw") + (-3 + 6 * dist[l] if l != "en" else -1.5))
            add(model, "zero-shot+multilingual-intermediate", "MNLI",
                lambda l, s=s: full(l) + 1.5 + (3 - 1.5 * s + 5 * dist[l] if l != "en" else 0.0))
        llm_langs = [l for l in LANGS if l not in ("sw", "ur")]
        add("sim-LLM", "llm-0shot", "", lambda l: score(l, 70, 20), llm_langs)
        add("sim-LLM", "llm-5shot", "", lambda l: score(l, 76, 25), llm_langs)

        sim = validate_results(pd.DataFrame(rows).assign(
            target_task="XNLI", metric="accuracy", source="SIMULATED in notebooks/06_settings.ipynb"))
        sim.groupby(["setting", "intermediate_task"]).size().rename("rows")
        """
    ),
    md(
        """
        ### 2.1 Adapters versus full fine-tuning

        The default comparison of `gap_summary` and `gap_slope` is `zero-shot+lora` against
        `zero-shot`, matched on the intermediate task. In this simulation adapters lose on near
        languages and gain on far ones (simulated slope 6 per unit distance), so the mean, close to
        zero, hides a slope:
        """
    ),
    code(
        """
        with collect_caveats():
            ad = gap_summary(sim, intermediate_tasks=[""], **FAST)
            ad_slope = gap_slope(sim, intermediate_tasks=[""], distances=["syntactic"], cluster="family")
        ad[ad.level == "mean"][["model", "estimate", "ci_low", "ci_high", "n", "n_positive"]]
        """
    ),
    code(
        """
        ad_slope[ad_slope.term == "syntactic"][["model", "estimate", "se", "ci_low", "ci_high", "n_clusters", "method"]]
        """
    ),
    md(
        """
        ### 2.2 Multi-task versus single-task intermediate training (adapters)

        `multitask_gains` compares `MNLI,QQP` with the **best single task**, chosen once per model
        by its mean over the target languages (never per language, which would favour the singles
        by chance; `against="each"` compares with every component). Seeds are paired. Language rows
        show where the multi-task run wins (`n_positive` 1), the mean row how many it wins:
        """
    ),
    code(
        """
        with collect_caveats():
            mt = multitask_gains(sim, setting="zero-shot+lora", against="best", **FAST)
        mt[mt.level == "mean"][["model", "multi_task", "single_task", "estimate", "ci_low", "ci_high", "n", "n_positive"]]
        """
    ),
    code(
        """
        per_language = mt[(mt.level == "language") & (mt.language != "en")]
        wins = per_language.pivot(index="language", columns="model", values="estimate").round(2)
        wins["models won"] = (wins > 0).sum(axis=1)
        wins.sort_values("models won")
        """
    ),
    md(
        """
        ### 2.3 Multilingual versus English intermediate training, across model size

        `gap_scale` fits `gap ~ log_params (+ distance)` over every model's per-language gaps
        (OLS, standard errors clustered by language; both settings trained on MNLI, so rows match on
        the intermediate task; `reference_intermediate_task=` pairs different names). The simulated
        models are not in
        `data/models/models.csv`, so their parameter counts are passed with `parameters=`:
        """
    ),
    code(
        """
        ml = gap_scale(sim, setting="zero-shot+multilingual-intermediate", reference="zero-shot",
                       distance="syntactic", parameters=SIZES)
        ml[["term", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "n_models"]]
        """
    ),
    md(
        """
        `log_params` is the change of the gap per tenfold parameters (simulated: -1.5): larger
        models need the multilingual intermediate data less. The per-model means:
        """
    ),
    code(
        """
        with collect_caveats():
            mlm = gap_summary(sim, setting="zero-shot+multilingual-intermediate", reference="zero-shot",
                              intermediate_tasks=["MNLI"], **FAST)
        mlm[mlm.level == "mean"][["model", "estimate", "ci_low", "ci_high", "n"]]
        """
    ),
    md(
        """
        ### 2.4 LLM degradation against distance, beside the encoders'

        By default `slope_comparison` takes every `llm-*` setting and compares it with every
        encoder's `zero-shot` on the same task and metric (here restricted to `sim-L` with
        `reference_models`). The LLM was not evaluated in Swahili and Urdu: the shared languages are
        resampled together (paired), the others within their own side (`n_shared` says how many
        are shared).
        """
    ),
    code(
        """
        no_inter = sim[sim.intermediate_task == ""]  # the encoder without intermediate training
        with collect_caveats():
            llm = slope_comparison(no_inter, reference_models=["sim-L"], **FAST)
        llm[["model", "setting", "quantity", "reference_model", "estimate", "ci_low", "ci_high", "n", "n_shared"]]
        """
    ),
    md(
        """
        The simulated slopes are 20 (0-shot) and 25 (5-shot) against the encoder's 40 - 6 log10(1) =
        40: the differences should be near -20 and -15. From the command line, on your own results:

        ```
        xdist compare gap --results runs.csv                       # zero-shot+lora vs zero-shot
        xdist compare slope --results runs.csv --distance syntactic --cluster family
        xdist compare multitask --results runs.csv --against each
        xdist compare scale --results runs.csv --parameters my-model=278e6
        xdist compare llm --results runs.csv --reference-model xlm-roberta-large
        ```
        """
    ),
]

NOTEBOOKS = {
    "01_quick_start.ipynb": QUICK_START,
    "02_mixed_models.ipynb": MIXED,
    "03_intermediate_tasks.ipynb": INTERMEDIATE,
    "04_scale.ipynb": SCALE,
    "05_your_own_results.ipynb": OWN,
    "06_settings.ipynb": SETTINGS,
}


def build(name: str, cells):
    """The notebook ``name`` as an ``nbformat`` node: no outputs, fixed ids."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    stem = name.split("_", 1)[0]
    for kind, source in cells:
        new = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(new(source, id=f"nb{stem}-{len(nb.cells):02d}"))
    nbformat.validate(nb)
    return nb


def render(name: str, cells) -> str:
    import nbformat

    return nbformat.writes(build(name, cells)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a committed notebook differs from this script")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        text = render(name, cells)
        path = NOTEBOOK_DIR / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run: python scripts/make_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
