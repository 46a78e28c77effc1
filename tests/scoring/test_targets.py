"""Targets: zips checked before extraction, folders, experiments."""

from __future__ import annotations

import stat
import zipfile

import pytest

from harness.errors import HarnessError
from harness.scoring.contract import SubmissionError
from harness.scoring.targets import MAX_UNPACKED_BYTES, content_sha256, resolve_target


def _zip(path, entries):
    """A zip of (ZipInfo or name, bytes) entries."""
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def _refused(tmp_path, profile, zip_path, match, kind="bad_zip", **kw):
    dest = tmp_path / "dest"
    with pytest.raises(SubmissionError, match=match) as info:
        resolve_target(zip_path, dest, profile, **kw)
    assert info.value.kind == kind
    assert not dest.exists(), "nothing may be extracted from a refused zip"
    return info.value


def test_zip_of_a_folder_has_the_folders_hash(tmp_path, make_submission, profile):
    folder = make_submission(**{"weights.txt": "w"})
    with zipfile.ZipFile(tmp_path / "sub.zip", "w") as zf:
        for p in folder.iterdir():
            zf.write(p, p.name)
    staged = resolve_target(tmp_path / "sub.zip", tmp_path / "dest", profile)
    assert staged.kind == "zip" and staged.name == "sub"
    assert (staged.path / "model.py").read_text() == (folder / "model.py").read_text()
    by_folder = resolve_target(folder, tmp_path / "unused", profile)
    assert by_folder.kind == "folder" and by_folder.path == folder
    assert staged.sha256 == by_folder.sha256 == content_sha256(folder)


def test_absolute_path_refused(tmp_path, profile):
    z = _zip(tmp_path / "a.zip", [("model.py", "x"), (zipfile.ZipInfo("/etc/evil.py"), "x")])
    _refused(tmp_path, profile, z, "absolute path")


def test_dotdot_refused(tmp_path, profile):
    z = _zip(tmp_path / "a.zip", [("model.py", "x"), (zipfile.ZipInfo("a/../../evil.py"), "x")])
    _refused(tmp_path, profile, z, "'..' part")


def test_symlink_refused(tmp_path, profile):
    link = zipfile.ZipInfo("weights.keras")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = _zip(tmp_path / "a.zip", [("model.py", "x"), (link, "/etc/passwd")])
    _refused(tmp_path, profile, z, "symlink")


def test_huge_declared_size_refused(tmp_path, profile):
    z = _zip(tmp_path / "a.zip", [("model.py", "x")] + [(f"w{i}.keras", "x") for i in range(3)])
    # Declare each weight file 4 GiB in the central directory, as a zip bomb would.
    raw = bytearray(z.read_bytes())
    start = 0
    for _ in range(4):
        start = raw.index(b"PK\x01\x02", start) + 4
        if raw[start + 42:start + 44] != b"mo":
            raw[start + 20:start + 24] = (0xFFFFFFF0).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    assert sum(i.file_size for i in zipfile.ZipFile(z).infolist()) > MAX_UNPACKED_BYTES
    _refused(tmp_path, profile, z, "uncompressed size is absurd")


def test_model_py_in_a_subfolder_says_how_to_zip(tmp_path, profile):
    z = _zip(tmp_path / "sub.zip", [("my_sub/model.py", "x"), ("my_sub/weights.keras", "w")])
    err = _refused(tmp_path, profile, z, "not at the zip's root; it sits in my_sub/",
                   kind="no_model_py")
    assert "cd my_sub && zip -r ../sub.zip ." in err.hint


def test_experiment_target_is_staged_with_the_template(tmp_path, profile):
    exp = tmp_path / "my_exp"
    (exp / "runs" / "260101_000000").mkdir(parents=True)
    (exp / "config.py").write_text("CONFIG = {}\n")
    (exp / "build.py").write_text("")
    (exp / "runs" / "260101_000000" / "weights.keras").write_bytes(b"not really keras")
    staged = resolve_target(exp, tmp_path / "dest", profile)
    assert staged.kind == "experiment" and staged.name == "my_exp"
    assert {"model.py", "harness_runtime.py", "weights.keras"} <= {
        p.name for p in staged.path.iterdir()}


def test_missing_or_non_zip_target(tmp_path, profile):
    with pytest.raises(HarnessError, match="no such file"):
        resolve_target(tmp_path / "nope.zip", tmp_path / "d", profile)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(HarnessError, match="not a zip"):
        resolve_target(tmp_path / "notes.txt", tmp_path / "d", profile)
    with pytest.raises(HarnessError, match="unknown experiment"):
        resolve_target("no_such_experiment", tmp_path / "d", profile)
