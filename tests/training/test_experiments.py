"""The experiment registry, run folders, and staging a submission from a run."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.experiments import get_experiment, list_experiments


def test_registry_finds_baseline_and_suggests_on_typo():
    assert "baseline_cnn" in [e.name for e in list_experiments()]
    with pytest.raises(HarnessError) as info:
        get_experiment("baseline_cn")
    assert "did you mean 'baseline_cnn'" in info.value.hint


def test_untrained_experiment_says_how_to_train(tmp_path):
    exp_dir = tmp_path / "exp"
    exp_dir.mkdir()
    (exp_dir / "config.py").write_text("CONFIG = {}\n")
    (exp_dir / "build.py").write_text("")
    with pytest.raises(HarnessError, match="no trained run") as info:
        get_experiment(exp_dir).latest_run()
    assert "harness train" in info.value.hint


def test_staged_template_predicts_integer_labels(tmp_path, profile):
    import keras

    exp = get_experiment("baseline_cnn")
    config = exp.config()
    run = tmp_path / "run"
    run.mkdir()
    keras.utils.set_random_seed(0)
    exp.builder().build_model(config, profile).save(run / "weights.keras")
    sub = exp.stage(tmp_path / "sub", run=run, tta=3, chunk_size=5)
    assert sorted(p.name for p in sub.iterdir()) == [
        "harness_runtime.py", "model.py", "submission.json", "weights.keras"]
    assert json.loads((sub / "submission.json").read_text()) == {"chunk_size": 5, "tta": 3}
    code = ("import numpy as np; from model import Model; "
            "X = np.random.default_rng(0).integers(0, 256, (12, 96, 96, 3), dtype=np.uint8); "
            "y = Model().predict(X); print(y.dtype, y.shape, int(y.min()) >= 0, int(y.max()) < 8)")
    out = subprocess.run([sys.executable, "-c", code], cwd=sub, capture_output=True, text=True,
                         env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["int64", "(12,)", "True", "True"]


@pytest.mark.parametrize("name,augment", [
    ("robust_cnn", ["flip", "randaugment_weak", "overlay"]),
    ("resnet_cnn", ["flip"]),
])
def test_cpu_experiment_trains_packs_and_runs_in_the_ingestion(name, augment, tmp_path,
                                                                profile):
    """Each trains an epoch under its own config and augmentation, and the packed zip's
    model.py loads its weights in a fresh process and predicts valid labels (pack's
    smoke run, the ingestion `score` runs too; scoring a packed backbone's zip is
    vgg16's test in test_experiments_seed.py)."""
    from harness.data.datasets import save_dataset
    from harness.paths import REPO_ROOT
    from harness.shipping.packing import pack
    from harness.training.fit import train

    rng = np.random.default_rng(3)
    data = save_dataset(tmp_path / "d.npz", rng.integers(0, 256, (16, 96, 96, 3), np.uint8),
                        np.repeat(np.arange(8), 2))
    exp = get_experiment(REPO_ROOT / "experiments" / name)
    assert exp.config()["augment"] == augment
    run = train(exp, data=data, epochs=1, overrides={"validation_split": 0.0, "batch_size": 8},
                run_dir=tmp_path / "run", progress=False)
    packed = pack(exp.path, profile, out=tmp_path / "dist", run=run.run_dir, data=data, n_smoke=4)
    assert packed.smoke["n_images"] == 4 and packed.zip.is_file()


def test_read_run_takes_every_form_of_history_and_survives_damage(tmp_path):
    from harness.experiments import read_run

    h = {"loss": [1.0, 0.5], "val_accuracy": [0.4, 0.6]}
    (tmp_path / "history.json").write_text(json.dumps(
        {"models": [{"weights": "fold_1.keras", "history": h},
                    {"weights": "fold_2.keras", "history": {}}],
         "train_seconds": 12.5, "segment_seconds": [5.0, 7.5]}))
    (tmp_path / "config.json").write_text(json.dumps({"epochs": 2}))
    run = read_run(tmp_path)
    assert run.histories == [h, {}] and run.train_seconds == 12.5
    assert run.segment_seconds == [5.0, 7.5] and run.config == {"epochs": 2}
    # Runs from before train_seconds: one history, or one per fold by name.
    (tmp_path / "history.json").write_text(json.dumps(h))
    assert read_run(tmp_path).histories == [h] and read_run(tmp_path).train_seconds is None
    (tmp_path / "history.json").write_text(json.dumps({"fold_1": h, "fold_2": h}))
    assert read_run(tmp_path).histories == [h, h]
    # A damaged or missing file leaves its part empty; the report goes on.
    (tmp_path / "history.json").write_text("{not json")
    (tmp_path / "config.json").unlink()
    assert read_run(tmp_path) == type(run)(path=tmp_path)


def test_a_config_states_what_differs_from_its_parent(tmp_path):
    from harness.training import resolve_config

    def package(name, config):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.py").write_text(config)
        (tmp_path / name / "build.py").write_text("")
        return get_experiment(tmp_path / name)

    package("base", 'CONFIG = {"epochs": 3, "dense": 64}\nSEARCH_SPACE = {"dense": [32, 64]}\n')
    child = package("child", 'PARENT = "base"\nCONFIG = {"dense": 128}\n')
    assert child.config() == {"epochs": 3, "dense": 128}
    assert child.search_space() == {"dense": [32, 64]}
    assert resolve_config(child)["batch_size"] == 64  # the training default under both
    package("loop_a", 'PARENT = "loop_b"\nCONFIG = {}\n')
    package("loop_b", 'PARENT = "loop_a"\nCONFIG = {}\n')
    with pytest.raises(HarnessError, match="leads back to itself"):
        get_experiment(tmp_path / "loop_a").config()
    orphan = package("orphan", 'PARENT = "bsae"\nCONFIG = {}\n')
    with pytest.raises(HarnessError) as info:
        orphan.config()
    assert info.value.hint == "did you mean 'base'?"


def test_the_shipped_configs_state_only_what_differs_from_the_defaults():
    from harness.training.config import DEFAULTS

    for exp in list_experiments():
        for module in exp.config_modules()[:1]:
            same = [k for k, v in module.CONFIG.items() if k in DEFAULTS and DEFAULTS[k] == v]
            assert not same, f"{exp.name} repeats the defaults of {same}"
