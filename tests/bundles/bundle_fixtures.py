"""Bundles the bundle tests build: small synthetic ones written in tmp, and writable
copies of the real ones in ../shared/codabench_bundles (never copied into the repository)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from conftest import SHARED_BUNDLES  # noqa: F401  (re-exported for the bundle tests)


def writable_copy(src: Path, dst: Path) -> Path:
    """A copy of a (read-only) shared bundle folder that a test may break."""
    shutil.copytree(src, dst, copy_function=shutil.copyfile)
    for path in [dst, *dst.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return dst


V2_YAML = """\
version: 2
title: Tiny Digits
image: logo.png
terms: pages/terms.md
pages:
  - title: Overview
    file: pages/overview.md
tasks:
  - index: 0
    name: Dev Task
    input_data: dev/input_data/
    reference_data: dev/reference_data/
    ingestion_program: ingestion_program/
    scoring_program: scoring_program/
  - index: 1
    name: Final Task
    input_data: final/input_data/
    reference_data: final/reference_data/
    ingestion_program: ingestion_program/
    scoring_program: scoring_program/
phases:
  - index: 0
    name: Development
    start: 1-1-2026
    end: 6-30-2026
    execution_time_limit: 120
    tasks:
      - 0
  - index: 1
    name: Final
    start: '2026-07-01 12:30'
    max_submissions_per_day: 2
    tasks:
      - 1
leaderboards:
  - title: Results
    key: main
    columns:
      - title: Accuracy
        key: accuracy
"""


def make_v2_bundle(root: Path, yaml_text: str = V2_YAML) -> Path:
    """A small valid v2 bundle folder: two tasks, two phases, programs with metadata."""
    files = {
        "competition.yaml": yaml_text,
        "logo.png": "not really a picture",
        "pages/terms.md": "Be nice.",
        "pages/overview.md": "Classify digits.",
        "ingestion_program/metadata.yaml": "command: python3 ingestion.py\n",
        "ingestion_program/ingestion.py": "print('ingest')\n",
        "scoring_program/metadata.yaml": "command: python3 score.py\n",
        "scoring_program/score.py": "print('score')\n",
    }
    for phase in ("dev", "final"):
        files[f"{phase}/input_data/test.csv"] = "x\n1\n"
        files[f"{phase}/reference_data/labels.csv"] = "y\n0\n"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


V1_YAML = """\
title: Legacy Digits
description: An old CodaLab competition
image: logo.jpg
has_registration: False
end_date: 2021-12-31
html:
  overview: overview.html
  terms: terms.html
phases:
  0:
    phasenumber: 0
    label: Parent
    start_date: 2020-12-01
    is_parallel_parent: True
  2:
    phasenumber: 2
    label: Final
    start_date: 2021-06-01
    max_submissions: 3
    scoring_program: program.zip
    reference_data: final_ref.zip
    ingestion_program: ingestion.zip
    input_data: final_input.zip
    ingestion_program_only_during_scoring: True
  1:
    phasenumber: 1
    label: Development
    start_date: 2021-01-01
    execution_time_limit: 300
    scoring_program: program.zip
    reference_data: dev_ref.zip
    ingestion_program: ingestion.zip
    input_data: dev_input
leaderboard:
  leaderboards:
    RESULTS: &RESULTS
      label: Results
      rank: 1
  columns:
    auc:
      leaderboard: *RESULTS
      label: AUC
      rank: 2
      numeric_format: 4
    acc:
      leaderboard: *RESULTS
      rank: 1
      sort: asc
"""


def make_v1_bundle(root: Path, programs_have_metadata: bool = True) -> Path:
    """A CodaLab 1.8 bundle: a yaml, html pages, programs and data as zips (one folder)."""
    root.mkdir(parents=True)
    (root / "competition.yaml").write_text(V1_YAML)
    (root / "logo.jpg").write_bytes(b"jpeg")
    (root / "overview.html").write_text("<p>hello</p>")
    (root / "terms.html").write_text("")  # v1 pages may be empty
    (root / "dev_input").mkdir()
    (root / "dev_input" / "x.csv").write_text("1\n")
    members = {
        "program.zip": {"metadata": "command: python $program/score.py $input $output\n",
                        "score.py": "print(1)\n"},
        "ingestion.zip": {"metadata.yaml": "command: python ingestion.py\n"}
        if programs_have_metadata else {"ingestion.py": "print(1)\n"},
        "dev_ref.zip": {"truth.csv": "0\n"}, "final_ref.zip": {"truth.csv": "1\n"},
        "final_input.zip": {"x.csv": "2\n"},
    }
    write_zips(root, members)
    return root


def write_zips(root: Path, members: dict[str, dict[str, str]]) -> None:
    """Zips in `root`, each {zip name: {member: text}}, as an old bundle ships them."""
    for name, files in members.items():
        with zipfile.ZipFile(root / name, "w") as z:
            for member, text in files.items():
                z.writestr(member, text)
