"""The ingestion process: runs one submission the way Codabench's ingestion program does.

This file is run as a script (`python ingestion_child.py SPEC.json`), copied into a
private temporary folder, by `harness.scoring.ingestion.run_submission`. It uses only the
standard library and numpy, never `harness`: `harness verify` runs it in a virtualenv
that holds the server's runtime and nothing else.

It makes the submission folder the first entry of sys.path and its working directory
(or the run folder SPEC names, as CodaLab's worker does), refuses imports the server
lacks when they come from the submission's own code (a package's own transitive
imports are left alone), loads X read-only, then does what the server does: `from
model import Model`, `Model()` (the class and arguments SPEC names: `model(path)` with
the submission's folder), then `predict` on X in the dtype SPEC names, in consecutive
calls of at most `chunk_size` images (the hidden set's size). It writes
`result.json` (timings per call, failure, runtime versions) and `predictions.npy`
beside SPEC, and after each call `progress` (images predicted so far).
A crash leaves no result.json; the parent reads the exit status instead.
"""

import json
import os
import sys
import time
import traceback


class ServerImportBlocker:
    """A meta-path finder that fails, as the server would, imports the server lacks.

    Only imports made by the submission's own files are refused: TensorFlow importing
    an optional package of its own must keep working.
    """

    def __init__(self, submission_dir, allowed):
        self.root = os.path.realpath(submission_dir) + os.sep
        self.allowed = set(allowed) | set(sys.stdlib_module_names)
        self.blocked = set()

    def _local(self, name):
        base = os.path.join(self.root, name)
        return os.path.exists(base + ".py") or os.path.isdir(base)

    def _from_submission(self):
        frame = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (filename.startswith("<frozen importlib")
                    or os.sep + "importlib" + os.sep in filename):
                return os.path.realpath(filename).startswith(self.root)
            frame = frame.f_back
        return False

    def _installed(self, name, path, target):
        # A module missing here too fails the ordinary way, as "import_error".
        others = [f for f in sys.meta_path if f is not self and hasattr(f, "find_spec")]
        return any(f.find_spec(name, path, target) is not None for f in others)

    def find_spec(self, name, path=None, target=None):
        if path is not None or name in self.allowed or self._local(name):
            return None
        if self._from_submission() and self._installed(name, path, target):
            self.blocked.add(name)
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


def _submission_traceback(exc, root):
    """The traceback from the submission's first frame on (the child's frames dropped)."""
    tb = exc.__traceback__
    while tb is not None and not os.path.realpath(tb.tb_frame.f_code.co_filename).startswith(root):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def _versions():
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for key, dists in (("numpy", ("numpy",)), ("tensorflow", ("tensorflow", "tensorflow-cpu")),
                       ("keras", ("keras",))):
        for dist in dists:
            try:
                found[key] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def _peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _note_progress(out_dir, done):
    """Images predicted so far, for the parent's progress bar (written whole, replaced)."""
    part = os.path.join(out_dir, "progress.part")
    with open(part, "w") as f:
        f.write(str(done))
    os.replace(part, os.path.join(out_dir, "progress"))


def _describe(exc, blocker):
    if isinstance(exc, ModuleNotFoundError) and exc.name in blocker.blocked:
        return "forbidden_import"
    return None


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    root = os.path.realpath(spec["submission_dir"])
    out_dir = spec["out_dir"]
    result = {"failure": None, "load_s": None, "predict_s": None, "versions": _versions()}

    def finish(kind=None, stage=None, exc=None):
        if kind is not None:
            result["failure"] = {
                "kind": _describe(exc, blocker) or kind, "stage": stage,
                "message": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
                "traceback": _submission_traceback(exc, root + os.sep)}
        tmp = os.path.join(out_dir, "result.json.part")
        with open(tmp, "w") as f:
            json.dump(result, f)
        os.replace(tmp, os.path.join(out_dir, "result.json"))

    # The child's own folder leaves sys.path; the submission's comes first, as on the server.
    sys.path[:] = [root] + [p for p in sys.path[1:] if os.path.realpath(p or ".") != root]
    os.chdir(spec.get("cwd") or root)
    class_name = spec.get("class_name", "Model")
    init_args = [root if a == "path" else a for a in spec.get("init_args", [])]
    dtype = spec.get("input_dtype", "uint8")
    blocker = ServerImportBlocker(root, spec["allowed_modules"])
    sys.meta_path.insert(0, blocker)

    import numpy as np

    if spec["x_path"].endswith(".npz"):
        with np.load(spec["x_path"]) as archive:
            X = archive["images"]
        X.setflags(write=False)
    else:
        # A read-only memory map: no copy to pay for, and no way to write through it.
        X = np.load(spec["x_path"], mmap_mode="r")

    start = time.perf_counter()
    try:
        module = __import__("model", fromlist=[class_name])
        if not hasattr(module, class_name):
            raise ImportError(f"cannot import name '{class_name}' from 'model' "
                              f"({getattr(module, '__file__', None)})")
        cls = getattr(module, class_name)
    except Exception as exc:
        return finish("import_error", "import", exc)
    try:
        model = cls(*init_args)
    except Exception as exc:
        return finish("init_error", "init", exc)
    result["load_s"] = time.perf_counter() - start

    # The server hands predict the hidden set, about chunk_size images, in one call: a
    # larger local set goes in consecutive calls of at most that size, so memory and
    # per-call behaviour are the server's, not a multiple of them.
    chunk = int(spec.get("chunk_size") or len(X)) or 1
    bounds = [(i, min(i + chunk, len(X))) for i in range(0, len(X), chunk)] or [(0, 0)]
    parts, calls = [], []
    result["calls"] = calls
    start = time.perf_counter()
    for k, (lo, hi) in enumerate(bounds):
        # The server's X is already in its dtype: converting is the harness's, untimed.
        x = X[lo:hi] if X.dtype == dtype else X[lo:hi].astype(dtype)
        call_start = time.perf_counter()
        try:
            pred = model.predict(x)
        except Exception as exc:
            result["predict_s"] = time.perf_counter() - start
            return finish("predict_error", "predict", exc)
        calls.append({"images": hi - lo, "seconds": time.perf_counter() - call_start,
                      "peak_rss_mb": _peak_rss_mb()})
        _note_progress(out_dir, hi)
        result["returned"] = type(pred).__module__ + "." + type(pred).__qualname__
        if pred is None:
            result["returned"] = "None"
            result["predict_s"] = time.perf_counter() - start
            return finish()
        try:
            if type(pred).__module__.startswith("tensorflow") and not spec.get("tensors", True):
                raise TypeError(f"predict returned a TensorFlow {type(pred).__name__}; this "
                                f"server takes a numpy array (return np.asarray(...) or "
                                f".numpy())")
            arr = np.asarray(pred)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"predict returned an array of dtype {arr.dtype}")
            # One call is checked by the parent, in the contract's words; several must
            # each answer for their own images before they can be joined.
            if len(bounds) > 1 and (arr.ndim == 0 or len(arr) != hi - lo or
                                    (parts and arr.shape[1:] != parts[0].shape[1:])):
                raise ValueError(f"predict call {k + 1} of {len(bounds)} (images {lo}..{hi - 1}) "
                                 f"returned shape {arr.shape} for {hi - lo} images")
        except Exception as exc:
            return finish("bad_output", "output", exc)
        parts.append(arr)
        result["as_list"] = isinstance(pred, (list, tuple))
    result["predict_s"] = time.perf_counter() - start
    try:
        np.save(os.path.join(out_dir, "predictions.npy"), np.concatenate(parts),
                allow_pickle=False)
    except Exception as exc:
        return finish("bad_output", "output", exc)
    return finish()


if __name__ == "__main__":
    main(sys.argv[1])
