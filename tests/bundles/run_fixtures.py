"""Small synthetic bundles for `harness bundle run`'s failure tests: python3 one-liners,
no packages, so they run in a second under the harness's own interpreter
(`--python sys.executable`) and need no cached image environment."""

from __future__ import annotations

import json
from pathlib import Path

from bundle_fixtures import write_zips

RUN_YAML = """\
version: 2
title: Tiny Run
docker_image: codalab/codalab-legacy:py312
terms: pages/terms.md
pages:
  - title: Overview
    file: pages/overview.md
tasks:
  - index: 0
    name: Echo
    input_data: input_data/
    reference_data: reference_data/
    ingestion_program: ingestion_program/
    scoring_program: scoring_program/
phases:
  - index: 0
    name: Dev
    start: 1-1-2026
    execution_time_limit: 60
    tasks:
      - 0
leaderboards:
  - title: Results
    key: main
    columns:
      - title: Accuracy
        key: acc
        index: 0
        sorting: desc
"""

# Reads x, calls the submission's predict, writes what it returned (the worker's layout).
INGEST = """\
import sys
sys.path.append('/app/ingested_program')
from model import predict
x = open('/app/input_data/x.txt').read().split()
pred = predict(x)
open('/app/output/pred.txt', 'w').write(' '.join(pred))
"""

SCORE = """\
import json
pred = open('/app/input/res/pred.txt').read().split()
ref = open('/app/input/ref/y.txt').read().split()
acc = sum(p == r for p, r in zip(pred, ref)) / len(ref)
json.dump({'acc': acc, 'extra': 7}, open('/app/output/scores.json', 'w'))
"""

ECHO_MODEL = "def predict(x):\n    return x\n"


def write_files(root: Path, files: dict[str, str]) -> Path:
    """`root` holding {relative path: text}."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def make_bundle(root: Path, score_py: str = SCORE, ingest_py: str = INGEST,
                ingestion_metadata: str = "command: python3 ingest.py\n") -> Path:
    """A one-task bundle whose ingestion echoes the submission's predictions of
    input_data/x.txt and whose scoring compares them with reference_data/y.txt."""
    files = {
        "competition.yaml": RUN_YAML,
        "pages/terms.md": "Be nice.\n",
        "pages/overview.md": "Echo the input.\n",
        "input_data/x.txt": "a b c d\n",
        "reference_data/y.txt": "a b c d\n",
        "ingestion_program/metadata.yaml": ingestion_metadata,
        "ingestion_program/ingest.py": ingest_py,
        "scoring_program/metadata.yaml": "command: python3 score.py\n",
        "scoring_program/score.py": score_py,
    }
    return write_files(root, files)


def make_submission(root: Path, model_py: str = ECHO_MODEL) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.py").write_text(model_py)
    return root


def scores_of(output: str) -> dict:
    return json.loads(output)["scores"]


V1_RUN_YAML = """\
title: Legacy Echo
html:
  overview: overview.html
  terms: terms.html
phases:
  1:
    phasenumber: 1
    label: Development
    start_date: 2021-01-01
    execution_time_limit: 60
    scoring_program: scoring.zip
    reference_data: ref.zip
    ingestion_program: ingestion.zip
    input_data: input.zip
leaderboard:
  leaderboards:
    RESULTS: &RESULTS
      label: Results
      rank: 1
  columns:
    acc:
      leaderboard: *RESULTS
      label: Accuracy
      rank: 1
"""


def make_v1_bundle(root: Path) -> Path:
    """A CodaLab v1 bundle: programs and data as zips, commands with the old placeholders
    ($program, $input, $output, $ingestion_program, $submission_program), scores.txt."""

    root.mkdir(parents=True)
    (root / "competition.yaml").write_text(V1_RUN_YAML)
    (root / "overview.html").write_text("<p>echo</p>")
    (root / "terms.html").write_text("<p>be nice</p>")
    members = {
        "ingestion.zip": {
            "metadata": "command: python $ingestion_program/ingest.py $input $output "
                        "$submission_program\n",
            "ingest.py": "import sys\nsys.path.append(sys.argv[3])\nfrom model import predict\n"
                         "x = open(sys.argv[1] + '/x.txt').read().split()\n"
                         "pred = predict(x)\n"
                         "open(sys.argv[2] + '/pred.txt', 'w').write(' '.join(pred))\n"},
        "scoring.zip": {
            "metadata": "command: python $program/score.py $input $output\n",
            "score.py": "import sys\n"
                        "pred = open(sys.argv[1] + '/res/pred.txt').read().split()\n"
                        "ref = open(sys.argv[1] + '/ref/y.txt').read().split()\n"
                        "acc = sum(p == r for p, r in zip(pred, ref)) / len(ref)\n"
                        "open(sys.argv[2] + '/scores.txt', 'w').write(f'acc: {acc}\\n')\n"},
        "input.zip": {"x.txt": "a b c d\n"},
        "ref.zip": {"y.txt": "a b c x\n"},
    }
    write_zips(root, members)
    return root



# RUN_YAML with a second task in its phase: task 1 'Hard', its own reference data and
# scoring program; both tasks' columns key `accuracy`.
TWO_TASKS_YAML = RUN_YAML.replace("title: Tiny Run", "title: Two Tasks").replace(
    "    scoring_program: scoring_program/\n",
    "    scoring_program: scoring_program/\n"
    "  - index: 1\n    name: Hard\n    input_data: input_data/\n"
    "    reference_data: hard_reference/\n    ingestion_program: ingestion_program/\n"
    "    scoring_program: hard_scoring_program/\n").replace(
    "      - 0\n", "      - 0\n      - 1\n").replace("key: acc\n", "key: accuracy\n")

# Both tasks' scoring programs write the same key, `accuracy`.
ACCURACY = SCORE.replace("{'acc': acc, 'extra': 7}", "{'accuracy': acc}")


def make_two_task_bundle(root: Path, hard_score_py: str = ACCURACY) -> Path:
    """`make_bundle`'s with a phase of two tasks on the same input data: task 0 'Echo'
    whose reference data the echo matches (accuracy 1.0), task 1 'Hard' whose reference
    data it matches half of (0.5)."""
    make_bundle(root, score_py=ACCURACY)
    return write_files(root, {
        "competition.yaml": TWO_TASKS_YAML,
        "hard_reference/y.txt": "a b x y\n",
        "hard_scoring_program/metadata.yaml": "command: python3 score.py\n",
        "hard_scoring_program/score.py": hard_score_py,
    })
