"""Atomic writes, commits of several files at once, and content hashes.

Every file the harness writes goes through `atomic_path`: it is written under a
temporary name beside its target (`.NAME.PID.RANDOM.part`) and renamed onto it when
complete, so a crash, an error or Ctrl-C half-way leaves the previous file (or nothing),
never a truncated one. A temporary left by a process that no longer runs (killed with
SIGKILL, which nothing can catch) is removed by the next write of the same target; a
folder built whole before it is renamed in (`temp_beside(..., directory=True)`: a test
set, a virtualenv) is swept alike. The pid is this machine's: a folder written from two
machines at once is not a case this handles.

Outputs that belong together (a dataset, its report and its contact sheet) are written
inside `transaction()`: every atomic write in it is renamed at the end, in the order
written (data first, then what describes it), with SIGINT and SIGTERM held meanwhile; an
exception or an interruption before that removes them all.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from harness.errors import HarnessError
from harness.interrupt import checkpoint, deferred, kept

# Temporaries older than this process, of a name without a pid (written by an older
# harness), are stale too.
_STARTED = time.time()
# What follows `.NAME.` in a temporary's name: this version's, or an older harness's.
_TEMP_TAG = re.compile(r"(?P<pid>[1-9]\d*)\.\w+\.part.*|[a-z0-9_]{8}\.part")
# The renames a running `transaction` will do at its end, or None outside one.
_pending: list[tuple[Path, Path]] | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(target: Path) -> None:
    """Remove temporaries of `target` whose writer is gone (see the module docstring)."""
    prefix = f".{target.name}."
    for stale in target.parent.glob(f"{glob.escape(prefix)}*.part*"):
        # Only this target's own names: `.x.PID.RANDOM.part...`, or an older harness's
        # `.x.RANDOM.part` (never `.x.npz.PID...`, another target's).
        tag = _TEMP_TAG.fullmatch(stale.name[len(prefix):])
        if tag is None:
            continue
        try:
            gone = not _alive(int(tag["pid"])) if tag["pid"] else \
                stale.lstat().st_mtime < _STARTED
        except OSError:
            continue
        if gone:
            remove(stale)


def temp_beside(target: str | os.PathLike, directory: bool = False, suffix: str = "") -> Path:
    """A new temporary file (or folder) beside `target`, named for it and this process.

    Stale temporaries of the same target are removed first. `suffix` is appended after
    `.part` for writers that insist on an extension (Keras wants `.keras`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    make = tempfile.mkdtemp if directory else tempfile.mkstemp
    made = make(prefix=f".{target.name}.{os.getpid()}.", suffix=".part" + suffix,
                dir=target.parent)
    if directory:
        name = made
    else:
        fd, name = made
        os.close(fd)
    # mkstemp and mkdtemp make owner-only files and folders; give the result the
    # permissions a plain open() or mkdir() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, (0o777 if directory else 0o666) & ~umask)
    return Path(name)


def remove(path: Path) -> None:
    """Remove a temporary file or folder, whatever it is."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def commit(renames: list[tuple[Path, Path]]) -> None:
    """Rename finished temporaries onto their targets, all of them, signals held."""
    with deferred():
        for i, (tmp, target) in enumerate(renames):
            os.replace(tmp, target)
            kept(target)
            if i == 0:
                checkpoint("commit")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "",
                directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `target`; move it onto `target` on success.

    The temporary file (an empty folder with `directory=True`, for a target built whole)
    lives in the same folder, so the final `os.replace` is atomic.
    On an exception (Ctrl-C included) the temporary file is removed and `target` is
    untouched. Inside `transaction()` the rename waits for the transaction's end.

    Examples:
        >>> folder = Path(tempfile.mkdtemp())  # examples write nowhere else
        >>> with atomic_path(folder / "out.json") as tmp:
        ...     _ = tmp.write_text("{}")
        >>> (folder / "out.json").read_text()
        '{}'
    """
    target = Path(target)
    tmp = temp_beside(target, directory=directory, suffix=suffix)
    try:
        yield tmp
        checkpoint(f"written:{target.name}")
    except BaseException:
        remove(tmp)
        raise
    if _pending is not None:
        _pending.append((tmp, target))
    else:
        commit([(tmp, target)])


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """Commit every `atomic_path` write inside the block together at its end, or none.

    Nested transactions join the outer one. Code inside must not read back a file it
    wrote in the same transaction: it lands only at the end.
    """
    global _pending
    if _pending is not None:
        yield
        return
    _pending = []
    try:
        yield
        renames, _pending = _pending, None
        commit(renames)
    except BaseException:
        for tmp, _ in _pending or []:
            remove(tmp)
        raise
    finally:
        _pending = None


def read_json(path: str | os.PathLike, what: str, hint: str) -> Any:
    """The JSON in `path`, or a `HarnessError` naming the file, what is wrong and `hint`.

    Args:
        what: what the file is, for the message ("the test set's manifest").
        hint: how to fix it (rebuild, restore, delete).
    """
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise HarnessError(f"{path}: {what} is missing", hint=hint) from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        reason = str(e).splitlines()[0][:120]
        raise HarnessError(f"{path}: {what} is not valid JSON ({reason})", hint=hint) from None


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    """Write `text` to `target` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_folder(folder: str | os.PathLike, skip: frozenset[str] = frozenset()) -> str:
    """Hex sha256 over every file's relative path and bytes, in sorted order; files under
    a folder named in `skip` (e.g. `__pycache__`) do not count."""
    folder = Path(folder)
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and not skip & set(p.relative_to(folder).parts))
    for p in files:
        digest.update(p.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(sha256_file(p).encode())
    return digest.hexdigest()


def sha256_arrays(*arrays) -> str:
    """Hex sha256 over arrays' dtypes, shapes and bytes: an identity for in-memory data."""
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(np.ascontiguousarray(a))
    return digest.hexdigest()
