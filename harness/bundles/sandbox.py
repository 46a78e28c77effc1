"""How one program of a bundle runs isolated, seeing the compute worker's `/app` layout.

Three backends, tried in order (`choose_sandbox`; `backend=` names one instead):

1. **Docker or Podman**, when the engine answers (`ENGINE info`) and the bundle's
   image is present locally (`ENGINE image inspect`): the program runs in that image
   with the worker's own flags: every capability the worker drops, `no-new-privileges`
   (Docker) or `label=disable` (Podman), `--userns host`, working folder
   `/app/program`, `PYTHONUNBUFFERED=1`, and `--network none` unless the network is
   asked for. The faithful path.
2. **bubblewrap** (`bwrap`, Debian/Ubuntu package `bubblewrap`): the host's system
   folders read-only, every namespace unshared (network too, unless asked for), no
   capabilities, a private `/tmp` and `/root`, the process killed with its parent, and
   the cached virtualenv standing in for the image (`images.py`) first on PATH, so
   `python3` is that environment's interpreter.
3. Neither: one line saying what to install.

Under a rootful Docker the container's root lacks DAC_OVERRIDE (the worker drops it),
so it cannot write into the folders the harness made as a user; and what it writes
there is root's, which that user cannot remove. `open_up` makes a run's writable
folders writable by anyone before it starts, and `reclaim` hands what the programs
wrote back to each folder's owner afterwards (a short container with CHOWN, the only
way without root here), so a run folder stays the user's to read and delete.

The caller gives the mounts. The worker mounts its scratch copy of a program folder
writable; here the bundle's folders, the submission and the data are mounted straight
from where they are, READ-ONLY: a program that writes there fails (EROFS) and the
bundle stays byte-identical. Only the run's `output`, `shared` and `input` folders are
writable.

Examples:
    >>> box = choose_sandbox("codalab/codalab-legacy:py312", network=False)
    >>> box.backend, box.network_line()
    ('bubblewrap', 'network off (bubblewrap --unshare-all)')
    >>> proc = box.start([Mount(prog, "/app/program")], ["python3", "x.py"], out, err)
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.bundles.failures import BundleFailure
from harness.bundles.images import image_environment, image_python
from harness.procs import kill_group

# The capabilities the compute worker drops (all of Docker's default set).
CAP_DROP = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
            "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
            "SYS_CHROOT"]
ENGINES = ("docker", "podman")
BACKENDS = ("auto", *ENGINES, "bubblewrap")
_SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt"]
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or run "
                "Docker or Podman with the bundle's image pulled")


@dataclass(frozen=True)
class Mount:
    """A host folder seen at `target` inside the sandbox (read-only unless writable)."""

    host: Path
    target: str
    writable: bool = False


def _answers(cmd: list[str], timeout: float = 10) -> bool:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def engine_status(engine: str, image: str) -> str | None:
    """None when `engine` runs and holds `image` locally; else why it cannot be used.

    `ENGINE info` fails within moments when a client is installed but no engine runs
    (the daemon socket is absent), so this costs little where Docker is not running.
    """
    if shutil.which(engine) is None:
        return f"no {engine}"
    if not _answers([engine, "info"]):
        return f"{engine} is installed but no engine answers: {engine} info failed"
    if not _answers([engine, "image", "inspect", image]):
        return f"{engine} runs but {image} is not pulled ({engine} pull {image})"
    return None


@dataclass(frozen=True)
class Sandbox:
    """One way to run a bundle's programs.

    Args:
        backend: "docker", "podman" or "bubblewrap".
        image: the bundle's docker_image.
        network: whether programs may reach the network.
        python: under bubblewrap, the interpreter standing in for the image.
        differs: what is not as on Codabench's worker, one phrase each.
    """

    backend: str
    image: str
    network: bool
    python: Path | None = None
    differs: list[str] = field(default_factory=list)

    def network_line(self) -> str:
        if self.network:
            return "network on (--network)"
        how = "--network none" if self.backend in ENGINES else "bubblewrap --unshare-all"
        return f"network off ({how})"

    def command_line(self, mounts: list[Mount], argv: list[str], name: str) -> list[str]:
        """The full command that runs `argv` in /app/program with `mounts`."""
        if self.backend in ENGINES:
            return self._engine_line(mounts, argv, name)
        return self._bwrap_line(mounts, argv)

    def _engine_line(self, mounts: list[Mount], argv: list[str], name: str) -> list[str]:
        security = "no-new-privileges" if self.backend == "docker" else "label=disable"
        line = [self.backend, "run", "--rm", "--name", name, "--userns", "host",
                "--security-opt", security]
        for cap in CAP_DROP:
            line += ["--cap-drop", cap]
        for m in mounts:
            line += ["-v", f"{Path(m.host).resolve()}:{m.target}" + ("" if m.writable else ":ro")]
        line += ["-w", "/app/program", "-e", "PYTHONUNBUFFERED=1"]
        if not self.network:
            line += ["--network", "none"]
        return line + [self.image, *argv]

    def _bwrap_line(self, mounts: list[Mount], argv: list[str]) -> list[str]:
        line = ["bwrap", "--die-with-parent", "--unshare-all", "--cap-drop", "ALL"]
        if self.network:
            line.append("--share-net")
        for folder in _SYSTEM:
            line += ["--ro-bind-try", folder, folder]
        line += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/root"]
        venv = self.python.parent.parent
        # The interpreter the venv was made from, wherever it lives (pyenv, /usr/local).
        prefix = Path(self.python).resolve().parent.parent
        for folder in dict.fromkeys([prefix, venv]):
            line += ["--ro-bind", str(folder), str(folder)]
        line += ["--dir", "/app"]
        for m in mounts:
            line += ["--bind" if m.writable else "--ro-bind", str(Path(m.host).resolve()),
                     m.target]
        line += ["--chdir", "/app/program", "--clearenv",
                 "--setenv", "PATH", f"{venv}/bin:{_PATH}", "--setenv", "HOME", "/root",
                 "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONUNBUFFERED", "1",
                 "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--"]
        return line + argv

    def open_up(self, folders: list[Path]) -> None:
        """Under an engine, let the container's root (no DAC_OVERRIDE) write into
        `folders` and everything in them, whoever made them."""
        if self.backend not in ENGINES:
            return
        for folder in folders:
            for path in [Path(folder), *Path(folder).rglob("*")]:
                if not path.is_symlink():
                    path.chmod(path.stat().st_mode | (0o777 if path.is_dir() else 0o666))

    def reclaim(self, folders: list[Path]) -> None:
        """Under an engine, give what the programs wrote in `folders` to each folder's
        owner (as the container sees it, so a rootless engine maps it back too).
        Nothing to do where the folders are root's."""
        folders = [Path(f) for f in folders if Path(f).exists() and Path(f).stat().st_uid]
        if self.backend not in ENGINES or not folders:
            return
        mounts, chowns = [], []
        for i, folder in enumerate(folders):
            mounts += ["-v", f"{folder.resolve()}:/reclaim/{i}"]
            chowns.append(f"chown -R --reference=/reclaim/{i} /reclaim/{i}")
        line = [self.backend, "run", "--rm", "--network", "none", "--userns", "host",
                *mounts, "--entrypoint", "sh", self.image, "-c", " && ".join(chowns)]
        done = subprocess.run(line, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            raise BundleFailure("sandbox_unavailable", "could not hand the run's files back "
                                f"from the container's root: {done.stderr.strip()[-200:]}",
                                hint=f"sudo chown -R $(id -u):$(id -g) {folders[0].parent}")

    def start(self, mounts: list[Mount], argv: list[str], stdout, stderr,
              name: str | None = None) -> "Program":
        """Start `argv` in the sandbox (its own process group), writing to the open
        files `stdout` and `stderr`."""
        name = name or f"harness-{uuid.uuid4().hex[:12]}"
        line = self.command_line(mounts, argv, name)
        proc = subprocess.Popen(line, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                start_new_session=True)
        return Program(proc, name, self.backend)


@dataclass
class Program:
    """A running program: its process (the sandbox's) and the container name."""

    proc: subprocess.Popen
    name: str
    backend: str

    def stop(self) -> None:
        """Kill it and everything it started: the container under an engine (killing
        the client alone leaves the container running), the process group always."""
        if self.backend in ENGINES:
            try:
                subprocess.run([self.backend, "rm", "-f", self.name], capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass  # the engine went away: the process group below is all there is
        if self.proc.returncode is None:
            kill_group(self.proc)


def bwrap_status() -> str | None:
    """None when bubblewrap can make a sandbox here; else why not."""
    if shutil.which("bwrap") is None:
        return "no bwrap"
    done = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--", "true"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        return f"bwrap cannot make a sandbox here: {done.stderr.strip()[-200:]}"
    return None


def choose_sandbox(image: str, network: bool = False, python: Path | None = None,
                   status: Callable[[str], None] = lambda msg: None,
                   backend: str = "auto") -> Sandbox:
    """The most faithful backend this machine has for `image` (see the module doc), or
    the one `backend` names.

    Args:
        image: the bundle's docker_image.
        network: let programs reach the network.
        python: under bubblewrap, an interpreter to stand in for the image instead of
            its cached virtualenv (the tests' synthetic bundles need no packages).
        status: called with a line of progress (building the virtualenv takes minutes).
        backend: "auto" (an engine first, then bubblewrap), or one of `BACKENDS`.

    Raises:
        BundleFailure: "sandbox_unavailable", saying what to install or start.
    """
    if backend not in BACKENDS:
        raise BundleFailure("sandbox_unavailable", f"no sandbox called {backend!r}",
                            hint=f"name one of {', '.join(BACKENDS)}")
    why_not = []
    for engine in ENGINES if backend == "auto" else [e for e in ENGINES if e == backend]:
        why = engine_status(engine, image)
        if why is None:
            return Sandbox(engine, image, network, differs=[])
        if backend == engine:
            raise BundleFailure("sandbox_unavailable", f"--sandbox {engine}: {why}",
                                hint=f"start {engine} and load {image}, or leave out "
                                     "--sandbox to fall back on bubblewrap")
        why_not.append(why)
    why = bwrap_status()
    if why is not None:
        raise BundleFailure("sandbox_unavailable",
                            f"no sandbox to run the bundle's programs in: {why}; "
                            f"{'; '.join(why_not)}", hint=INSTALL_HINT)
    engines = "; ".join(w for w in why_not if not w.startswith("no ")) or (
        "--sandbox bubblewrap" if backend == "bubblewrap" else "no docker or podman")
    differs = [f"not in the {image} container ({engines})"]
    if python is None:
        differs += image_environment(image).differs
        python = image_python(image, status=status)
    else:
        differs.append(f"{python} (given) stands in for the image's Python and packages")
    return Sandbox("bubblewrap", image, network, Path(python), differs)
