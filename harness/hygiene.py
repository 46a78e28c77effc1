"""Data hygiene: find the dirt in a labelled image set, show the evidence, remove it.

(Work in progress: the duplicate-finding building blocks are public already.)
"""

from __future__ import annotations

from harness.duplicates import exact_duplicate_groups, near_duplicate_pairs, perceptual_hashes

__all__ = ["exact_duplicate_groups", "near_duplicate_pairs", "perceptual_hashes"]
