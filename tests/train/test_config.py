"""Run configuration: defaults, config files, --set overrides, and their errors (no torch needed)."""

import json

import pytest

from xdist.train.config import TrainConfig, apply_overrides, load_config


def test_defaults_and_validate_canonical_names():
    cfg = TrainConfig(model="m", target="wikiann-ner", intermediate=("squad", "mnli")).validate()
    assert cfg.target == "PAN-X"
    assert cfg.intermediate == ("SQuAD-v1.1", "MNLI")
    assert cfg.target_phase.learning_rate == 1e-5
    assert cfg.store_path.endswith("store")
    assert cfg.name == "m"


def test_file_then_flags(tmp_path):
    f = tmp_path / "run.toml"
    f.write_text(
        'model = "models/xlmr"\ntarget = "XNLI"\nintermediate = ["MNLI"]\nseed = 4\n'
        "[target_phase]\nlearning_rate = 2e-5\nnum_train_epochs = 5\n[eval]\nbatch_size = 64\n"
    )
    cfg = load_config(f)
    assert (cfg.seed, cfg.target_phase.learning_rate, cfg.target_phase.num_train_epochs, cfg.eval.batch_size) == (
        4, 2e-5, 5, 64)
    assert cfg.intermediate == ("MNLI",)
    cfg = apply_overrides(cfg, ["target_phase.learning_rate=3e-5", "seed=9", "eval.languages=de,fr",
                                "target_phase.max_train_examples=none", "intermediate_phase.sampling=temperature"])
    assert cfg.target_phase.learning_rate == 3e-5 and cfg.seed == 9
    assert cfg.eval.languages == ("de", "fr")
    assert cfg.intermediate_phase.sampling == "temperature"
    # a written config.json is a valid config file
    j = tmp_path / "c.json"
    j.write_text(json.dumps(cfg.to_dict()))
    assert load_config(j) == cfg


def test_run_directory_config_json_loads_back(tmp_path):
    """The config.json the pipeline writes into --output is itself a valid --config."""
    from xdist.train.pipeline import CONFIG_FILE, _check_output

    cfg = apply_overrides(TrainConfig(model="models/xlmr", target="PAN-X", intermediate=("MNLI",),
                                      output=str(tmp_path / "run")), ["seed=3", "target_phase.learning_rate=2e-5"])
    _check_output(cfg)
    written = json.loads((tmp_path / "run" / CONFIG_FILE).read_text())
    assert "identity" in written and "config" in written
    assert load_config(tmp_path / "run" / CONFIG_FILE) == cfg


@pytest.mark.parametrize(
    "override, message",
    [
        ("target_phase.lr=1", "unknown key 'lr' in \\[target_phase\\]; did you mean 'learning_rate'"),
        ("seed=x", "seed='x' is not valid: expected an integer"),
        ("target_phase.learning_rate=fast", "learning_rate='fast' is not valid: expected a number"),
        ("nokey", "expected KEY=VALUE"),
        ("a.b.c=1", "SECTION one of"),
        ("group_by_length=maybe", "expected true or false"),
    ],
)
def test_override_errors(override, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(TrainConfig(), [override])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": ""}, "model is required"),
        ({"target": ""}, "target is required"),
        ({"target": "XNLII"}, "XNLII"),
        ({"intermediate": ("Tatoeba",)}, "retrieval task: it has no training data"),
        ({"intermediate": ("MNLI", "mnli")}, "names a task twice"),
        ({"precision": "fp8"}, "precision='fp8' is not valid"),
    ],
)
def test_validate_errors(changes, message):
    base = {"model": "m", "target": "XNLI", **changes}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**base).validate()


def test_phase_value_errors():
    cfg = apply_overrides(TrainConfig(model="m", target="XNLI"), ["target_phase.per_device_batch_size=0"])
    with pytest.raises(ValueError, match="target_phase.per_device_batch_size=0 is not valid: expected a positive integer"):
        cfg.validate()
    cfg = apply_overrides(TrainConfig(model="m", target="XNLI", intermediate=("MNLI",)),
                          ["intermediate_phase.sampling=random"])
    with pytest.raises(ValueError, match="intermediate_phase.sampling='random' is not valid"):
        cfg.validate()


def test_config_file_errors(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("model = \n")
    with pytest.raises(ValueError, match="is not valid TOML"):
        load_config(bad)
    unknown = tmp_path / "u.toml"
    unknown.write_text("[target_phase]\nepochs = 3\n")
    with pytest.raises(ValueError, match="u.toml: unknown key 'epochs'.*did you mean 'num_train_epochs'"):
        load_config(unknown)


def test_task_dependent_defaults_follow_the_released_recipe():
    cfg = TrainConfig(model="m", target="XNLI", intermediate=("MNLI", "SQuAD")).validate()
    tp = cfg.target_phase
    assert (tp.num_train_epochs, tp.gradient_accumulation_steps, tp.max_length) == (2.0, 8, 256)
    assert (tp.per_device_batch_size, tp.learning_rate, tp.eval_steps, tp.early_stopping_patience) == (4, 1e-5, 1000, 30)
    ip = cfg.intermediate_phase
    assert (ip.num_train_epochs, ip.max_length, ip.model_selection) == (3.0, 384, False)
    qa = TrainConfig(model="m", target="MLQA").validate().target_phase
    assert (qa.num_train_epochs, qa.gradient_accumulation_steps, qa.max_length) == (2.0, 4, 384)
    # an explicit value wins over the task default
    mine = apply_overrides(TrainConfig(model="m", target="PAN-X"), ["target_phase.num_train_epochs=1"]).validate()
    assert mine.target_phase.num_train_epochs == 1.0 and mine.target_phase.gradient_accumulation_steps == 8


@pytest.mark.parametrize("target", ["XCOPA", "SNLI"])
def test_target_must_be_an_encoder_target_task(target):
    with pytest.raises(ValueError, match=r"not a target task of the encoder pipeline.*expected one of XNLI"):
        TrainConfig(model="m", target=target).validate()
