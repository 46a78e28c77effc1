"""Bad-input fuzzing: hundreds of mutated files through `data inspect` and `score`.

Seeded mutations of the inputs users hand the harness: a dataset npz (`data inspect`),
a test-set npz (`score --testset`) and a submission zip (`score ZIP`): truncated,
bit-flipped, wrong dtype or shape, absurd declared sizes, and unicode and path tricks
in zip entry names. Every outcome must be a clean result, or one clear line with exit 1
(a submission failure, as the server would report it) or 2 (bad input); never an
uncaught exception (a traceback), never a hang, never a file written outside the project
folder. The CLI runs in-process (click's CliRunner), so each case costs milliseconds
unless a submission really runs. The counts are printed (bench/RESULTS.md quotes them).
"""

from __future__ import annotations

import io
import stat
import struct
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from harness.cli import main
from harness.data.datasets import save_dataset

N_NPZ = 150
N_TESTSET = 100
N_ZIP = 150
CASE_LIMIT_S = 60
# Failures found without running the submission (the zip itself, or its code read).
REFUSED = ("bad_zip", "no_model_py", "forbidden_import", "no_model_class", "bad_settings")

NUMPY_MODEL = b"""
import numpy as np


class Model:
    def predict(self, X):
        return X[:, 0, 0, 0].astype(np.int64) % 8
"""


def npz_bytes(rng, n: int = 16, **overrides) -> bytes:
    images = rng.integers(0, 256, (n, 96, 96, 3), np.uint8)
    arrays = {"images": images, "labels": (np.arange(n) % 8).reshape(-1, 1).astype(np.uint8)}
    arrays.update(overrides)
    buf = io.BytesIO()
    np.savez(buf, **{k: v for k, v in arrays.items() if v is not None})
    return buf.getvalue()


def npy_header_lie(rng) -> bytes:
    """An npz whose images.npy header declares an absurd shape over a few bytes."""
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000000, 96, 96, 3), }"
    header = header.ljust(118) + "\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("images.npy", npy)
        labels = io.BytesIO()
        np.save(labels, np.zeros((16, 1), np.uint8))
        zf.writestr("labels.npy", labels.getvalue())
    return buf.getvalue()


def mutate_bytes(rng, data: bytes) -> bytes:
    data = bytearray(data)
    kind = rng.integers(0, 3)
    if kind == 0:  # truncated
        return bytes(data[:int(rng.integers(0, len(data)))])
    if kind == 1:  # bit flips
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(data)))
            data[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(data)
    # a run of random bytes over a random span
    i = int(rng.integers(0, len(data)))
    span = int(rng.integers(1, 64))
    data[i:i + span] = rng.integers(0, 256, min(span, len(data) - i), np.uint8).tobytes()
    return bytes(data)


def npz_cases(rng, count: int, extras: bool = False):
    """(label, bytes) of mutated datasets: structural ones, then random byte mutations."""
    n = 16
    structural = [
        ("empty file", b""),
        ("random bytes", rng.integers(0, 256, 4000, np.uint8).tobytes()),
        ("a bare npy", b"\x93NUMPY\x01\x00" + b"\0" * 200),
        ("images float32", npz_bytes(rng, images=rng.random((n, 96, 96, 3), np.float32))),
        ("images int64", npz_bytes(rng, images=np.zeros((n, 96, 96, 3), np.int64))),
        ("images 2-D", npz_bytes(rng, images=np.zeros((n, 96 * 96 * 3), np.uint8))),
        ("images grey", npz_bytes(rng, images=np.zeros((n, 96, 96), np.uint8))),
        ("images RGBA", npz_bytes(rng, images=np.zeros((n, 96, 96, 4), np.uint8))),
        ("images 32x32", npz_bytes(rng, images=np.zeros((n, 32, 32, 3), np.uint8))),
        ("no images", npz_bytes(rng, images=None)),
        ("no labels", npz_bytes(rng, labels=None)),
        ("zero images", npz_bytes(rng, n=0, labels=np.zeros((0, 1), np.uint8))),
        ("labels too few", npz_bytes(rng, labels=np.zeros((3, 1), np.uint8))),
        ("labels 2 columns", npz_bytes(rng, labels=np.zeros((n, 2), np.uint8))),
        ("labels out of range", npz_bytes(rng, labels=np.full((n, 1), 200, np.uint8))),
        ("labels negative", npz_bytes(rng, labels=np.full((n, 1), -3, np.int64))),
        ("labels float", npz_bytes(rng, labels=np.full((n, 1), 2.5))),
        ("labels strings", npz_bytes(rng, labels=np.array(["a"] * n))),
        ("labels scalar", npz_bytes(rng, labels=np.array(3))),
        ("extra key scalar", npz_bytes(rng, groups=np.array(1))),
        ("extra key wrong length", npz_bytes(rng, groups=np.array(["x"] * 3))),
        ("object array (pickle)", npz_bytes(rng, groups=np.array([{}] * n, dtype=object))),
        ("huge declared shape", npy_header_lie(rng)),
        # Unusual but valid: these must load and give a result.
        ("labels (N,) int64", npz_bytes(rng, labels=np.arange(n) % 8)),
        ("one class only", npz_bytes(rng, labels=np.zeros((n, 1), np.uint8))),
        ("extra per-image key", npz_bytes(rng, groups=np.array(["a", "b"] * (n // 2)))),
    ]
    if extras:
        structural += [
            ("groups unicode", npz_bytes(rng, groups=np.array(["ünï/../c\u202e"] * n))),
            ("severity float", npz_bytes(rng, groups=np.array(["a", "b"] * (n // 2)),
                                         severity=np.full(n, np.nan))),
        ]
    yield from structural
    valid = npz_bytes(rng)
    for i in range(count - len(structural)):
        yield f"mutation {i}", mutate_bytes(rng, valid)


def zip_bytes(entries: list[tuple], compression=zipfile.ZIP_DEFLATED) -> bytes:
    """entries: (name, data) or (ZipInfo, data)."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", compression) as zf:
        warnings.simplefilter("ignore", UserWarning)  # the duplicate name is the point
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def symlink_entry(name: str, target: bytes) -> tuple:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def lie_about_size(data: bytes, size: int) -> bytes:
    """Patch every central-directory entry's uncompressed size."""
    data = bytearray(data)
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        data[i + 24:i + 28] = struct.pack("<I", size)
        i = data.find(b"PK\x01\x02", i + 4)
    return bytes(data)


def zip_cases(rng, count: int):
    good = [("model.py", NUMPY_MODEL)]
    valid = zip_bytes(good)
    structural = [
        ("not a zip", b"model.py"),
        ("empty zip", zip_bytes([])),
        ("parent path", zip_bytes([*good, ("../evil.py", b"x")])),
        ("deep parent path", zip_bytes([*good, ("a/../../evil.py", b"x")])),
        ("backslash parent", zip_bytes([*good, ("..\\evil.py", b"x")])),
        ("absolute path", zip_bytes([*good, ("/etc/evil.py", b"x")])),
        ("drive path", zip_bytes([*good, ("C:/evil.py", b"x")])),
        ("symlink", zip_bytes([*good, symlink_entry("w.keras", b"/etc/passwd")])),
        ("symlink to parent", zip_bytes([*good, symlink_entry("up", b"..")])),
        ("nested model.py", zip_bytes([("sub/model.py", NUMPY_MODEL)])),
        ("unicode names", zip_bytes([*good, ("données/ünïcødé.txt", b"x"),
                                     ("\u202eyp.ledom", b"x")])),
        ("NFD look-alike model.py", zip_bytes([("mode\u0301l.py", NUMPY_MODEL)])),
        ("long name", zip_bytes([*good, ("a" * 300 + ".txt", b"x")])),
        ("NUL in name", zip_bytes([*good, ("x\0y.txt", b"x")])),
        ("duplicate model.py", zip_bytes([*good, ("model.py", b"syntax error (")])),
        ("directory only", zip_bytes([("model.py/", b"")])),
        ("declared 1 TB", lie_about_size(valid, 0xFFFFFFFF)),
        ("declared tiny", lie_about_size(valid, 1)),
        ("stored, not deflated", zip_bytes(good, zipfile.ZIP_STORED)),
        ("binary model.py", zip_bytes([("model.py", rng.integers(0, 256, 500, np.uint8)
                                        .tobytes())])),
        ("forbidden import", zip_bytes([("model.py", b"import keras_cv\n" + NUMPY_MODEL)])),
        ("bad submission.json", zip_bytes([*good, ("harness_runtime.py", b""),
                                           ("submission.json", b"{tta: 2")])),
        ("zeros bomb, honest sizes", zip_bytes([*good, ("w.bin", b"\0" * (1 << 24))])),
        ("model that never returns", zip_bytes([("model.py", b"import time\n"
                                                  b"class Model:\n"
                                                  b"    def predict(self, X):\n"
                                                  b"        time.sleep(3600)\n")])),
    ]
    yield from structural
    for i in range(count - len(structural)):
        yield f"mutation {i}", mutate_bytes(rng, valid)


class Outcomes:
    """Runs cases in a project folder and checks each outcome; keeps the counts."""

    def __init__(self, root: Path, monkeypatch):
        from click.testing import CliRunner

        self.root, self.runner = root, CliRunner()
        self.project, self.inputs = root / "project", root / "inputs"
        self.systmp = root / "systmp"
        for folder in (self.project, self.inputs, self.systmp):
            folder.mkdir()
        monkeypatch.chdir(self.project)
        monkeypatch.delenv("HARNESS_DB_URL", raising=False)
        monkeypatch.setattr(tempfile, "tempdir", str(self.systmp))
        self.counts: dict[int, int] = {}
        # Submissions really started: a refused zip must never get that far.
        self.started = 0
        from harness.scoring import predicting

        def counting(*args, **kwargs):
            self.started += 1
            return start_submission(*args, **kwargs)

        start_submission = predicting.start_submission
        monkeypatch.setattr(predicting, "start_submission", counting)

    def run(self, label: str, args: list[str]) -> None:
        start, started = time.monotonic(), self.started
        result = self.runner.invoke(main, args, catch_exceptions=True)
        seconds = time.monotonic() - start
        where = f"{label}: harness {' '.join(args)}\n{result.output}"
        exc = result.exception
        assert exc is None or isinstance(exc, SystemExit), f"{where}\n{exc!r}"
        assert result.exit_code in (0, 1, 2), where
        assert seconds < CASE_LIMIT_S, where
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if result.exit_code == 2:
            assert lines and lines[0].startswith("error:") and len(lines) <= 2, where
        if result.exit_code == 1:
            assert "FAILED (" in result.output, where
        if any(f"FAILED ({kind})" in result.output for kind in REFUSED):
            assert self.started == started, f"ran a refused submission: {where}"
        # Nothing left in the temporary folder, nothing escaped the project.
        assert list(self.systmp.iterdir()) == [], where
        self.counts[result.exit_code] = self.counts.get(result.exit_code, 0) + 1

    def check_no_escape(self, inputs_before: set[Path]) -> None:
        """Every file is an input (unchanged set) or under the project's data/ folder."""
        outside = [p for p in self.root.rglob("*") if p.is_file()
                   and not p.is_relative_to(self.inputs)
                   and not p.is_relative_to(self.project / "data")]
        assert outside == [], outside
        assert set(self.inputs.rglob("*")) == inputs_before
        assert not [p for d in ("/tmp", "/etc") for p in Path(d).glob("evil*")]


def write_inputs(folder: Path, cases) -> list[tuple[str, Path]]:
    out = []
    for i, (label, data) in enumerate(cases):
        path = folder / f"case_{i:03d}.{'zip' if 'zip' in folder.name else 'npz'}"
        path.write_bytes(data)
        out.append((label, path))
    return out


def test_fuzz_data_inspect(tmp_path, monkeypatch):
    o = Outcomes(tmp_path, monkeypatch)
    cases = write_inputs(o.inputs, npz_cases(np.random.default_rng(15), N_NPZ))
    before = set(o.inputs.rglob("*"))
    for label, path in cases:
        o.run(label, ["data", "inspect", str(path)])
    o.check_no_escape(before)
    print(f"\ndata inspect: {len(cases)} mutated npz files, exit codes {o.counts}")
    assert sum(o.counts.values()) == N_NPZ


def test_fuzz_score_testset(tmp_path, monkeypatch):
    o = Outcomes(tmp_path, monkeypatch)
    sub = o.inputs / "sub"
    sub.mkdir()
    (sub / "model.py").write_bytes(NUMPY_MODEL)
    cases = write_inputs(o.inputs, npz_cases(np.random.default_rng(16), N_TESTSET,
                                             extras=True))
    before = set(o.inputs.rglob("*"))
    for label, path in cases:
        o.run(label, ["score", str(sub), "--testset", str(path), "--time-limit", "30"])
    o.check_no_escape(before)
    print(f"\nscore --testset: {len(cases)} mutated test sets, exit codes {o.counts}, "
          f"{o.started} ran the submission")
    assert sum(o.counts.values()) == N_TESTSET


def test_fuzz_score_zip(tmp_path, monkeypatch):
    o = Outcomes(tmp_path, monkeypatch)
    save_dataset(o.inputs / "ts.npz", np.zeros((8, 96, 96, 3), np.uint8), np.arange(8))
    (o.inputs / "zips").mkdir()
    cases = write_inputs(o.inputs / "zips", zip_cases(np.random.default_rng(17), N_ZIP))
    before = set(o.inputs.rglob("*"))
    for label, path in cases:
        o.run(label, ["score", str(path), "--testset", str(o.inputs / "ts.npz"),
                      "--time-limit", "10"])
    o.check_no_escape(before)
    print(f"\nscore ZIP: {len(cases)} mutated zips, exit codes {o.counts}, "
          f"{o.started} ran the submission")
    assert sum(o.counts.values()) == N_ZIP
