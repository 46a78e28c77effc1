"""Fixtures of the bundle tests: the real bundles in ../shared/codabench_bundles (the
test is skipped where they are absent) and a cache of their own for extracted zips.

Every test here extracts zips into a session cache ($HARNESS_CACHE), never the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bundle_fixtures import SHARED_BUNDLES

from harness.bundles.images import image_python
from harness.errors import HarnessError
from harness.scoring.runtime import cache_root


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


# The user cache, read before `_bundle_cache` points $HARNESS_CACHE elsewhere: the cached
# environment standing in for a bundle's image is built once per machine there (as
# .ci/run does before the suite), not once per test session.
USER_CACHE = cache_root()


@pytest.fixture(scope="session")
def py312_python() -> Path:
    """The cached environment standing in for codalab/codalab-legacy:py312, built on
    first use; the test is skipped when it cannot be built (no package index)."""
    try:
        return image_python("codalab/codalab-legacy:py312", root=USER_CACHE)
    except HarnessError as e:
        pytest.skip(f"no environment for codalab/codalab-legacy:py312, and none could be "
                    f"built (offline?): {e.message[:200]}")
