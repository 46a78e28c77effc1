"""Where a bundle's files are: its hash, a zip extracted once into the cache, its yaml.

A bundle is a folder (read in place, never written) or a zip as an organizer uploads it.
A zip, and a program or data zip inside a bundle (CodaLab v1 style), is extracted once
into `<cache>/bundles/<sha256>` (the cache of `harness.scoring.runtime.cache_root`):
built whole beside its place and renamed in, its files made read-only, so a half
extraction is never taken for one and nothing writes into it afterwards.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from harness import fsutil
from harness.scoring.runtime import cache_root

YAML_NAME = "competition.yaml"
# Folders a Mac's zip tool adds; never where a competition.yaml is meant to be.
_JUNK = {"__MACOSX"}


def folder_sha256(root: Path) -> str:
    """A stable hash of a folder: every file's relative path and contents, in order."""
    return fsutil.sha256_folder(root)


def extracted(zip_path: Path, sha256: str | None = None) -> Path:
    """The folder holding `zip_path`'s files, extracted on first use.

    Raises:
        zipfile.BadZipFile: the file is not a zip (the caller says so in one line).
    """
    sha256 = sha256 or fsutil.sha256_file(zip_path)
    target = cache_root() / "bundles" / sha256
    if target.is_dir():
        return target
    with zipfile.ZipFile(zip_path) as archive:
        tmp = fsutil.temp_beside(target, directory=True)
        try:
            # extractall drops absolute paths and `..`, so nothing lands outside tmp.
            archive.extractall(tmp)
            for dirpath, _dirs, files in os.walk(tmp):
                for name in files:
                    path = Path(dirpath, name)
                    path.chmod(path.stat().st_mode & ~0o222)
        except BaseException:
            fsutil.remove(tmp)
            raise
    try:
        fsutil.commit([(tmp, target)])
    except OSError:
        # Another process extracted the same zip first: its copy is as good as ours.
        fsutil.remove(tmp)
        if not target.is_dir():
            raise
    return target


def find_yaml(root: Path) -> list[Path]:
    """The competition.yaml Codabench reads (at the root), else those one folder down.

    Codabench wants it at the zip's root; a zip made from the folder above puts it one
    folder deep, and the caller says so. Several one folder down are returned all.
    """
    if (root / YAML_NAME).is_file():
        return [root / YAML_NAME]
    return sorted(p / YAML_NAME for p in root.iterdir()
                  if p.is_dir() and p.name not in _JUNK and (p / YAML_NAME).is_file())
