"""Fixtures of the bundle tests: the real bundles in ../shared/codabench_bundles (the
test is skipped where they are absent) and a cache of their own for extracted zips.

Every test here extracts zips into a session cache ($HARNESS_CACHE), never the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bundle_fixtures import SHARED_BUNDLES


@pytest.fixture(scope="session", autouse=True)
def _bundle_cache(tmp_path_factory):
    saved = os.environ.get("HARNESS_CACHE")
    os.environ["HARNESS_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if saved is None:
        os.environ.pop("HARNESS_CACHE", None)
    else:
        os.environ["HARNESS_CACHE"] = saved


@pytest.fixture(scope="session")
def shared_bundles() -> Path:
    """../shared/codabench_bundles, or the test is skipped."""
    if not SHARED_BUNDLES.is_dir():
        pytest.skip("../shared/codabench_bundles is absent")
    return SHARED_BUNDLES
