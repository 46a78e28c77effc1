"""The profile file format: what a competition's TOML may say, and every mistake in one.

A profile file has four tables and a few top-level keys (see the shipped ones in
`harness/profiles/`, and docs/profiles.md for what each field means):

    name = "my-challenge"            # what --profile calls it
    title = "..."
    platform = "codabench"           # or "codalab": only said, never switched on
    extends = "an2dl-2024-hw1"       # optional: start from another profile

    [task]      input shape and dtype, class names and folder aliases, metric,
                time limit, hidden-set size
    [runtime]   the server's pip pins, the Keras files it is known to load, the
                modules a model.py may import, CPU threads
    [contract]  the class model.py defines, what its constructor receives, where it
                runs, files the zip must hold, what predict may return, the model
                formats the runtime loads
    [data]      the npz keys the course hands out, the crop for photos, the
                synthetic images and class counts of `data synth`
    [calibration]  the default forecast calibration (optional)

`parse` checks a parsed document against `SCHEMA` and returns every mistake as one line
(an unknown key with the nearest known one, a wrong type with the value received, a
missing field with what it means, a class count that disagrees with the class names),
so `harness profile check` can list them all at once.

Examples:
    >>> fields, mistakes = parse({"name": "x"}, "x.toml")
    >>> mistakes[0]
    "x.toml: missing title (the competition's name for people)"
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass

from harness.registry import suggestion

# What each contract choice means, for `profile show` and docs/profiles.md.
INIT_ARGS = {"path": "the submission's folder, as a string"}
WORKING_DIRS = {"submission": "the submission's folder (relative paths work)",
                "run": "the worker's run folder, not the submission's (relative paths fail)"}
PREDICT_RETURNS = {
    "labels": "a numpy array or list of integer labels, one per image",
    "tensor": "a TensorFlow tensor of integer labels (tf.argmax(...))",
    "onehot": "one-hot rows (n, classes), argmaxed by the server",
    "probabilities": "class probabilities (n, classes), argmaxed by the server",
}
MODEL_FORMATS = {
    "keras": "a .keras file, loaded with keras.models.load_model",
    "h5": "a legacy .h5 file, loaded with keras.models.load_model",
    "savedmodel": "a Keras 2 SavedModel folder (keras_metadata.pb), loaded with "
                  "tf.keras.models.load_model",
    "tf_savedmodel": "a TensorFlow SavedModel folder, loaded with tf.saved_model.load "
                     "(or keras.layers.TFSMLayer)",
}
METRICS = {"accuracy": "the share of labels right",
           "macro_f1": "the unweighted mean of the per-class F1 scores"}
SYNTHETIC = {"blood-smear": "blood-smear cells (harness.data.smear)",
             "leaves": "plant leaves on a background (harness.data.leaves)"}


@dataclass(frozen=True)
class Key:
    """One key of the format.

    Args:
        kind: how its value is checked (a `_CHECKS` entry).
        about: what it means, in words (the "missing" line quotes it).
        required: whether a profile must set it (after `extends`).
        choices: the values allowed, for a string or a list of strings.
    """

    kind: str
    about: str
    required: bool = False
    choices: tuple = ()


SCHEMA: dict[str, dict[str, Key]] = {
    "": {
        "name": Key("slug", "what --profile calls it", required=True),
        "title": Key("str", "the competition's name for people", required=True),
        "platform": Key("str", "where it is hosted, e.g. codabench or codalab"),
        "extends": Key("str", "a profile (shipped name or file) this one starts from"),
    },
    "task": {
        "input_shape": Key("shape", "[height, width, channels] of every image", required=True),
        "input_dtype": Key("str", "the dtype of the X predict receives", choices=("uint8",
                                                                                  "float32")),
        "class_names": Key("names", "the class names, index = label", required=True),
        "num_classes": Key("count", "how many classes (checked against class_names)"),
        "class_aliases": Key("aliases", "folder or label names mapped to labels"),
        "metric": Key("str", "the leaderboard's metric", choices=tuple(METRICS)),
        "time_limit_s": Key("seconds", "the server's limit over the whole run, seconds",
                            required=True),
        "hidden_test_size": Key("count", "the estimated number of hidden test images",
                                required=True),
    },
    "runtime": {
        "packages": Key("pins", "the pip requirement of each package the server runs",
                        required=True),
        "keras_known_to_load": Key("strs", "newer Keras releases whose .keras files load there"),
        "modules": Key("strs", "top-level modules a model.py may import there"),
        "threads": Key("count", "CPU threads assumed for the server"),
    },
    "contract": {
        "class_name": Key("identifier", "the class model.py must define"),
        "init_args": Key("strs", "what the server passes the constructor",
                         choices=tuple(INIT_ARGS)),
        "working_dir": Key("str", "the folder model.py runs in", choices=tuple(WORKING_DIRS)),
        "required_files": Key("strs", "files the zip's root must hold besides model.py"),
        "predict_returns": Key("strs", "what predict may return",
                               choices=tuple(PREDICT_RETURNS)),
        "model_formats": Key("strs", "the model files the server's runtime loads",
                             choices=tuple(MODEL_FORMATS)),
    },
    "data": {
        "images_key": Key("str", "the npz key of the course's images"),
        "labels_key": Key("str", "the npz key of the course's labels"),
        "crop": Key("str", "how data import squares a photo", choices=("center",)),
        "crop_fraction": Key("fraction", "the share of the shorter side the crop keeps"),
        "synthetic": Key("str", "what `data synth` and `demo` draw", choices=tuple(SYNTHETIC)),
        "class_counts": Key("counts", "images per class in the course's file (synth's mix)"),
    },
    "calibration": {
        "id": Key("str", "printed beside every calibrated score", required=True),
        "profile": Key("str", "the profile it was fitted for"),
        "recipe": Key("str", "the test-set recipe version it was fitted on", required=True),
        "strength": Key("number", "the chain strength", required=True),
        "sd": Key("number", "the forecast's standard error", required=True),
        "testset": Key("str", "the test set it was fitted on"),
        "points": Key("points", "the real results it rests on"),
    },
}
# Tables a profile may leave out entirely (their keys have defaults).
OPTIONAL_TABLES = {"contract", "data", "calibration"}


def _where(table: str, key: str) -> str:
    return f"[{table}] {key}" if table else key


def _received(value) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} ({text if len(text) <= 40 else text[:37] + '...'})"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _strs(v) -> bool:
    return isinstance(v, list) and all(isinstance(s, str) for s in v)


# kind -> (test, what it must be)
_CHECKS = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "slug": (lambda v: isinstance(v, str) and v.strip() != "" and not any(
        c.isspace() or c in "/\\" for c in v), "a name without spaces or slashes"),
    "identifier": (lambda v: isinstance(v, str) and v.isidentifier()
                   and not keyword.iskeyword(v), "a Python class name"),
    "number": (_is_number, "a number"),
    "seconds": (lambda v: _is_number(v) and v > 0, "a positive number of seconds"),
    "count": (lambda v: _is_int(v) and v > 0, "a positive integer"),
    "fraction": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "shape": (lambda v: isinstance(v, list) and len(v) == 3 and all(
        _is_int(n) and n > 0 for n in v), "a list of three positive integers"),
    "strs": (_strs, "a list of strings"),
    "names": (lambda v: _strs(v) and len(v) >= 2 and all(s.strip() for s in v)
              and len({s.lower() for s in v}) == len(v),
              "a list of two or more distinct, non-empty names"),
    "counts": (lambda v: isinstance(v, list) and len(v) > 0 and all(
        _is_int(n) and n >= 0 for n in v) and sum(v) > 0,
        "a list of non-negative integers, not all zero"),
    "aliases": (lambda v: isinstance(v, dict) and all(_is_int(n) for n in v.values()),
                "a table of name = label"),
    "pins": (lambda v: isinstance(v, dict) and all(isinstance(s, str) for s in v.values()),
             'a table of package = "version spec"'),
    "points": (lambda v: isinstance(v, list) and all(
        isinstance(p, dict) and isinstance(p.get("experiment"), str)
        and _is_number(p.get("codabench")) and _is_number(p.get("forecast")) for p in v),
        "a list of {experiment, codabench, forecast} tables"),
}


def _check_value(table: str, key: str, spec: Key, value, source: str) -> list[str]:
    test, must_be = _CHECKS[spec.kind]
    where = _where(table, key)
    if not test(value):
        return [f"{source}: {where} must be {must_be}. Received: {_received(value)}"]
    values = value if isinstance(value, list) else [value]
    bad = [v for v in values if spec.choices and v not in spec.choices]
    if bad:
        return [f"{source}: {where}: unknown value {bad[0]!r}; one of "
                f"{', '.join(map(repr, spec.choices))}"]
    return []


def _unknown(table: str, key: str, known, source: str) -> str:
    hint = f" ({suggestion(key, known) or 'known: ' + ', '.join(known)})"
    return f"{source}: unknown key {_where(table, key)}{hint}"


def _cross_checks(doc: dict, source: str) -> list[str]:
    """Mistakes between fields: counts that disagree, labels out of range."""
    task, data = doc.get("task", {}), doc.get("data", {})
    names = task.get("class_names")
    if not _CHECKS["names"][0](names):
        return []
    k = len(names)
    mistakes = []
    if _is_int(task.get("num_classes")) and task["num_classes"] != k:
        mistakes.append(f"{source}: [task] num_classes = {task['num_classes']} but "
                        f"class_names lists {k} names")
    for alias, label in (task.get("class_aliases") or {}).items():
        if _is_int(label) and not 0 <= label < k:
            mistakes.append(f"{source}: [task] class_aliases: {alias} = {label} is not a "
                            f"label 0..{k - 1}")
    counts = data.get("class_counts")
    if isinstance(counts, list) and len(counts) != k:
        mistakes.append(f"{source}: [data] class_counts has {len(counts)} numbers for "
                        f"{k} classes")
    return mistakes


def parse(doc: dict, source: str) -> tuple[dict, list[str]]:
    """Check a parsed profile document; return it unchanged and its mistakes, one line each.

    Args:
        doc: the document (`tomllib.load`), after `extends` was merged in.
        source: the file's name, at the start of every line.

    Returns:
        (doc, mistakes): no mistakes means `harness.profile.Profile.from_document` can
        build a profile from it.
    """
    mistakes = []
    for key, value in doc.items():
        if key in SCHEMA and key:
            if not isinstance(value, dict):
                mistakes.append(f"{source}: [{key}] must be a table. Received: "
                                f"{_received(value)}")
            continue
        spec = SCHEMA[""].get(key)
        if spec is None:
            mistakes.append(_unknown("", key, [*SCHEMA[""], *(t for t in SCHEMA if t)], source))
        else:
            mistakes += _check_value("", key, spec, value, source)
    for table, keys in SCHEMA.items():
        body = doc if not table else doc.get(table)
        if not isinstance(body, dict):
            if table and table not in OPTIONAL_TABLES:
                mistakes.append(f"{source}: missing table [{table}]")
            continue
        if table:
            for key, value in body.items():
                if key not in keys:
                    mistakes.append(_unknown(table, key, keys, source))
                else:
                    mistakes += _check_value(table, key, keys[key], value, source)
        for key, spec in keys.items():
            if spec.required and key not in body:
                mistakes.append(f"{source}: missing {_where(table, key)} ({spec.about})")
    return doc, mistakes + _cross_checks(doc, source)
