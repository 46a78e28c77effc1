"""fsutil's atomic writes of folders: the folder appears whole, or not at all."""

from __future__ import annotations

import pytest

from harness.fsutil import atomic_path


def test_atomic_folder_appears_whole_on_success(tmp_path):
    target = tmp_path / "zoo" / "model"
    with atomic_path(target, directory=True) as part:
        assert part.is_dir() and not any(part.iterdir()) and not target.exists()
        (part / "model.py").write_text("class Model: pass\n")
    assert (target / "model.py").is_file()
    assert target.stat().st_mode & 0o755 == 0o755  # as mkdir() makes it, not owner-only
    assert [p.name for p in target.parent.iterdir()] == ["model"]


def test_atomic_folder_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with atomic_path(target, directory=True) as part:
            (part / "weights.keras").write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
