"""Shared fixtures: small generated data, a CLI runner (and one whose stderr is a
terminal, for progress bars), a quiet TensorFlow, and a scratch working directory for
the whole session, so that the data folder is never the checkout's own data/; and the
session fails when it leaves the checkout's `git status` otherwise than it found it."""

from __future__ import annotations

import contextlib
import io
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import checkout  # tests/checkout.py: tests/ is on sys.path (rootdir conftest)
import numpy as np
import pytest
from click.testing import CliRunner

from harness.data.datasets import save_dataset
from harness.paths import REPO_ROOT
from harness.profile import get_profile

_STATUS = pytest.StashKey["str | None"]()


def pytest_sessionstart(session):
    # The controlling process only: xdist's workers start and end at other times.
    if not hasattr(session.config, "workerinput"):
        session.config.stash[_STATUS] = checkout.status(REPO_ROOT)


def pytest_sessionfinish(session, exitstatus):
    before = session.config.stash.get(_STATUS, None)
    after = checkout.status(REPO_ROOT) if before is not None else None
    changed = checkout.changes(before, after) if after is not None else []
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = ("the suite changed the checkout's git status (a test or an example wrote "
                   "into it; write into tmp_path instead):\n  " + "\n  ".join(changed))
        if reporter is not None:
            reporter.write("\n")  # after the progress dots
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def _scratch_data_folder(tmp_path_factory):
    """Run the session in a scratch folder with no $HARNESS_DATA: every command's data
    folder (`harness.paths.data_dir()`, ./data) is then a temporary one, whatever the
    checkout's data/ holds. A test that wants its own chdirs to it or sets HARNESS_DATA."""
    scratch = tmp_path_factory.mktemp("cwd")
    cwd, saved = os.getcwd(), os.environ.pop("HARNESS_DATA", None)
    os.chdir(scratch)
    yield scratch
    os.chdir(cwd)
    if saved is not None:
        os.environ["HARNESS_DATA"] = saved


@pytest.fixture
def profile():
    return get_profile()


@pytest.fixture
def runner():
    return CliRunner()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@contextlib.contextmanager
def terminal_stderr():
    """`with terminal_stderr() as err:` sys.stderr is a terminal that keeps what is
    written to it: tqdm draws its bars only on a terminal (`harness.progress`), as a
    person at one would see them. (A context in the test's body, not a fixture: pytest
    sets its own sys.stderr again once fixtures are set up.)"""
    saved, sys.stderr = sys.stderr, _Terminal()
    try:
        yield sys.stderr
    finally:
        sys.stderr = saved


class TerminalRunner(CliRunner):
    """A CliRunner whose stderr says it is a terminal, so progress bars show in
    `result.stderr` as they would for a person."""

    @contextlib.contextmanager
    def isolation(self, *args, **kwargs):
        with super().isolation(*args, **kwargs) as streams:
            sys.stderr.isatty = lambda: True
            yield streams


@pytest.fixture
def tty_runner():
    return TerminalRunner()


@pytest.fixture
def tiny_arrays():
    """24 random 96x96 images, 3 per class: for format tests, not for learning."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(24, 96, 96, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(8), 3).astype(np.uint8)
    return images, labels


@pytest.fixture
def tiny_npz(tmp_path, tiny_arrays):
    return save_dataset(tmp_path / "tiny.npz", *tiny_arrays)


# A numpy-only model.py: label = first pixel's red value mod 8 (fast, deterministic).
GOOD_MODEL_PY = """
import numpy as np


class Model:
    def __init__(self):
        pass

    def predict(self, X):
        return (X[:, 0, 0, 0].astype(np.int64) % 8)
"""


@pytest.fixture
def make_submission(tmp_path):
    """Write a submission folder: `make_submission(model_py, name="sub", **extra_files)`."""

    def make(model_py: str = GOOD_MODEL_PY, name: str = "sub", **files: str):
        folder = tmp_path / name
        folder.mkdir(parents=True)
        if model_py is not None:
            (folder / "model.py").write_text(model_py)
        for filename, text in files.items():
            (folder / filename).write_text(text)
        return folder

    return make


TINY_BUILD_PY = '''
import keras


def build_model(config, profile):
    """Rescale, a strided conv, a depthwise-like grouped conv (what pack optimizes), head."""
    inputs = keras.Input(shape=profile.input_shape)
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Conv2D(4, 4, strides=4)(x)
    x = keras.layers.Conv2D(4, 3, padding="same", groups=4)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(profile.num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
'''


def make_trained_experiment(root, profile, weights_from=None):
    """Write experiment `tiny_exp` under root/experiments with one run's weights.keras."""
    import importlib.util
    import shutil

    import keras

    folder = root / "experiments" / "tiny_exp"
    run = folder / "runs" / "250101_000000"
    run.mkdir(parents=True)
    (folder / "config.py").write_text("CONFIG = {'seed': 0}\n")
    (folder / "build.py").write_text(TINY_BUILD_PY)
    if weights_from is not None:
        shutil.copy(weights_from, run / "weights.keras")
        return folder
    spec = importlib.util.spec_from_file_location("_tiny_build", folder / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    keras.utils.set_random_seed(0)
    build.build_model({}, profile).save(run / "weights.keras")
    return folder


@pytest.fixture(scope="session")
def _tiny_weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_weights")
    return make_trained_experiment(root, get_profile()) / "runs" / "250101_000000" / "weights.keras"


@pytest.fixture
def trained_experiment(tmp_path, profile, _tiny_weights):
    """An experiment `tiny_exp` under tmp_path/experiments with one run's weights.keras
    (a tiny model with a grouped conv that pack's optimizer rewrites)."""
    return make_trained_experiment(tmp_path, profile, weights_from=_tiny_weights)


@pytest.fixture
def small_arrays():
    """32 random 96x96 images, 4 per class: enough for folds and a stratified holdout."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(32, 96, 96, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(8), 4).astype(np.int64)
    return images, labels


@pytest.fixture
def tmp_experiments(tmp_path, monkeypatch):
    """A private experiments/ holding a copy of baseline_cnn, so runs stay out of the repo."""
    import shutil

    from harness.paths import REPO_ROOT

    root = tmp_path / "experiments"
    shutil.copytree(REPO_ROOT / "experiments" / "baseline_cnn", root / "baseline_cnn",
                    ignore=shutil.ignore_patterns("runs", "__pycache__"))
    monkeypatch.setenv("HARNESS_EXPERIMENTS", str(root))
    return root


def load_submission(folder):
    """Import a staged submission's model.py in this process, as the server would (its
    folder on sys.path), under a fresh module name so several submissions can load."""
    import importlib.util
    import sys

    sys.modules.pop("harness_runtime", None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"model_{id(folder)}", folder / "model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.Model()
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("harness_runtime", None)


@pytest.fixture
def submission_model():
    """`load(folder) -> Model`: a staged submission's Model, loaded in this process."""
    return load_submission


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for this test session (each xdist worker starts its own),
    stopped and deleted afterwards. Skipped where none can be started; under CI=true
    that is a failure, so CI never passes without having run the PostgreSQL tests."""
    from pg_server import PostgresServer, PostgresUnavailable

    server, reason = None, None
    try:
        import psycopg  # noqa: F401 (the driver the harness uses for postgresql:// URLs)

        server = PostgresServer().start()
    except (ImportError, PostgresUnavailable) as e:
        reason = f"no PostgreSQL server could be started: {e}"
    if server is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the PostgreSQL tests, but {reason}", pytrace=False)
        pytest.skip(reason)
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """The URL (with its password) of a fresh, empty database on the session's server."""
    return pg_server.create_database()
