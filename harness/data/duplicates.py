"""Finding copies fast: byte hashes, perceptual hashes, Hamming-distance pairing.

Three building blocks that `hygiene` (and the test-set leakage guard) compose:

- `exact_duplicate_groups`: byte-identical images, by a vectorised 64-bit hash of the
  pixel bytes, every group then confirmed by comparing the bytes themselves.
- `perceptual_hashes`: imagehash's `phash` / `dhash`, computed for a whole batch: one
  Pillow call resizes a stack of images (`_thumbnail_chunk` says why that is exact) and
  scipy's DCT runs on all thumbnails at once. The hashes equal imagehash's bit for bit
  (all 13,837 real images; `tests/test_duplicates.py` checks it on generated ones).
- `near_duplicate_pairs`: all pairs of hashes within a Hamming distance, found by
  multi-index hashing (split the 64 bits into `max_distance + 1` bands: two hashes
  within the distance agree exactly on at least one band, so only images sharing a band
  value are compared), never by comparing every pair.

Examples:
    >>> hashes = perceptual_hashes(images)
    >>> pairs = near_duplicate_pairs(hashes, max_distance=4)
    >>> groups = exact_duplicate_groups(images)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
from PIL import Image

__all__ = ["exact_duplicate_groups", "perceptual_hashes", "near_duplicate_pairs",
           "grey_thumbnails", "aligned_correlation", "hamming", "popcount64"]

_CHUNK = 512  # images per step: one Pillow call each, bounded scratch memory
_M1, _M2, _M4 = (np.uint64(0x5555555555555555), np.uint64(0x3333333333333333),
                 np.uint64(0x0F0F0F0F0F0F0F0F))
_H01 = np.uint64(0x0101010101010101)


def popcount64(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint64, as uint8 (SWAR bit tricks; numpy<2 has none)."""
    x = np.asarray(x, np.uint64)
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    with np.errstate(over="ignore"):  # the multiply sums the bytes into the top byte
        return ((x * _H01) >> np.uint64(56)).astype(np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance between uint64 hashes, elementwise (broadcasting)."""
    return popcount64(np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64)))


def _thumbnail_chunk(chunk: np.ndarray, sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """Pillow's `convert("L").resize((width, height), LANCZOS)` for a stack of images.

    Pillow resizes in two separable passes, horizontal then vertical, each with its own
    rounding. Stacking the images into one tall picture makes the horizontal pass one
    call (rows never mix); transposing the result and resizing horizontally again is the
    vertical pass, with the same weights and rounding. So every thumbnail equals the
    one Pillow makes from that image alone, at a fraction of the per-call cost. The
    greyscale conversion is done once for all requested sizes.
    """
    m, in_h, in_w = chunk.shape[:3]
    tall = Image.fromarray(np.ascontiguousarray(chunk).reshape(m * in_h, in_w, 3)).convert("L")
    out = []
    for width, height in sizes:
        rows = np.asarray(tall.resize((width, m * in_h), Image.LANCZOS))
        cols = rows.reshape(m, in_h, width).transpose(0, 2, 1).reshape(m * width, in_h)
        thumbs = np.asarray(Image.fromarray(np.ascontiguousarray(cols)).resize(
            (height, m * width), Image.LANCZOS))
        out.append(thumbs.reshape(m, width, height).transpose(0, 2, 1))
    return out


def grey_thumbnails(images: np.ndarray, size: int | tuple[int, int] = 32,
                    progress: Callable | None = None) -> np.ndarray:
    """Greyscale thumbnails exactly as `img.convert("L").resize(size, LANCZOS)` makes them.

    Args:
        images: (N, H, W, 3) uint8.
        size: side of the square thumbnail, or (width, height) as PIL takes it.
        progress: optional wrapper for an iterable of chunks (e.g. a tqdm bar).

    Returns:
        (N, height, width) uint8.
    """
    return _thumbnails(images, [size], progress)[0]


def _thumbnails(images: np.ndarray, sizes: list, progress: Callable | None,
                index: np.ndarray | None = None) -> list[np.ndarray]:
    """Thumbnails of `images[index]` (all images when None), gathered chunk by chunk."""
    sizes = [(s, s) if isinstance(s, int) else tuple(s) for s in sizes]
    n = len(images) if index is None else len(index)
    out = [np.empty((n, h, w), np.uint8) for w, h in sizes]
    starts = range(0, n, _CHUNK)

    def chunk(s):
        part = images[s:s + _CHUNK] if index is None else images[index[s:s + _CHUNK]]
        return s, _thumbnail_chunk(part, sizes)

    # Pillow releases the GIL while it resamples: two threads use both cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(chunk, starts)
        for start, thumbs in progress(done, total=len(starts)) if progress else done:
            for o, t in zip(out, thumbs):
                o[start:start + len(t)] = t
    return out


def _pack_bits(bits: np.ndarray) -> np.ndarray:
    """(N, 64) booleans, first bit most significant (imagehash's hex order), to uint64."""
    return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)


def _hashes_from_thumbnails(thumbs: np.ndarray, kind: str) -> np.ndarray:
    if kind == "phash":
        import scipy.fftpack  # the transform imagehash itself calls

        # imagehash: dct(dct(pixels, axis=0), axis=1)[:8, :8]. Each 1-D transform is
        # independent, so transforming only the 8 rows kept gives the same numbers.
        rows = scipy.fftpack.dct(thumbs.astype(np.float64), axis=1)[:, :8, :]
        low = scipy.fftpack.dct(rows, axis=2)[:, :, :8].reshape(len(thumbs), 64)
        return _pack_bits(low > np.median(low, axis=1, keepdims=True))
    grey = thumbs.astype(np.int16)  # dhash: 9x8 thumbnails, compare neighbours in a row
    return _pack_bits((grey[:, :, 1:] > grey[:, :, :-1]).reshape(len(thumbs), 64))


HASH_KINDS = {"phash": 32, "dhash": (9, 8)}  # kind -> thumbnail size imagehash uses


def perceptual_hashes(images: np.ndarray, kind: str = "phash",
                      progress: Callable | None = None) -> np.ndarray:
    """imagehash's 64-bit perceptual hash of every image, computed as one batch.

    Bit-for-bit equal to `int(str(imagehash.phash(PIL.Image.fromarray(img))), 16)`
    (or `dhash`), with hash_size 8.

    Args:
        images: (N, H, W, 3) uint8.
        kind: "phash" (DCT of a 32x32 thumbnail; robust to brightness and small shifts)
            or "dhash" (signs of horizontal gradients of a 9x8 thumbnail; faster, cruder).
        progress: optional wrapper for an iterable of chunks (e.g. a tqdm bar).

    Returns:
        (N,) uint64.

    Examples:
        >>> h = perceptual_hashes(images)
        >>> hamming(h[0], h[1])
    """
    if kind not in HASH_KINDS:
        raise ValueError(f"unknown hash kind. Received: kind={kind!r}; "
                         f"expected one of {sorted(HASH_KINDS)}")
    if len(images) == 0:
        return np.zeros(0, np.uint64)
    return _hashes_from_thumbnails(grey_thumbnails(images, HASH_KINDS[kind], progress), kind)


def thumbnails_and_hashes(images: np.ndarray, progress: Callable | None = None,
                          index: np.ndarray | None = None):
    """32x32 grey thumbnails, phash and dhash of `images[index]`, converting to grey once.

    Returns:
        (thumbnails (M, 32, 32) uint8, phash (M,) uint64, dhash (M,) uint64), M = len(index).
    """
    thumbs, small = _thumbnails(images, [HASH_KINDS["phash"], HASH_KINDS["dhash"]], progress,
                                index)
    return thumbs, _hashes_from_thumbnails(thumbs, "phash"), _hashes_from_thumbnails(small, "dhash")


def _byte_hashes(flat: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's bytes: a random linear form over its 64-bit words."""
    n, width = flat.shape
    words = -(-width // 8)
    coef = np.random.default_rng(0x5EED).integers(1, 2**63, size=words, dtype=np.uint64)
    coef |= np.uint64(1)
    out = np.empty(n, np.uint64)
    for start in range(0, n, _CHUNK):
        block = flat[start:start + _CHUNK]
        if width % 8:
            block = np.pad(block, ((0, 0), (0, words * 8 - width)))
        with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
            out[start:start + len(block)] = (
                np.ascontiguousarray(block).view(np.uint64) * coef).sum(axis=1, dtype=np.uint64)
    return out


def exact_duplicate_groups(images: np.ndarray) -> list[np.ndarray]:
    """Groups of byte-identical images: each group's indices, ascending, groups by first index.

    Images are grouped by a 64-bit hash of their bytes (vectorised), then every group is
    confirmed byte for byte, so a hash collision can never merge different images.

    Args:
        images: (N, ...) array; any dtype.

    Returns:
        A list of int64 arrays of length >= 2 (images that occur once are left out).

    Examples:
        >>> exact_duplicate_groups(np.stack([a, b, a]))
        [array([0, 2])]
    """
    images = np.asarray(images)
    if len(images) < 2:
        return []
    flat = images.reshape(len(images), -1).view(np.uint8) if images.dtype != np.uint8 \
        else images.reshape(len(images), -1)
    keys = _byte_hashes(flat)
    order = np.argsort(keys, kind="stable")
    starts = np.flatnonzero(np.r_[True, keys[order][1:] != keys[order][:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    groups = []
    for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
        members = np.sort(order[start:start + size])
        same = np.all(flat[members] == flat[members[0]], axis=1)
        if same.all():
            groups.append(members)
            continue
        _, inverse = np.unique(flat[members], axis=0, return_inverse=True)  # a true collision
        groups += [members[inverse.ravel() == k] for k in np.unique(inverse)
                   if (inverse == k).sum() > 1]
    groups.sort(key=lambda g: g[0])
    return [g.astype(np.int64) for g in groups]


def _band_edges(max_distance: int) -> list[tuple[int, int]]:
    bands = max_distance + 1
    edges = np.linspace(0, 64, bands + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:])]


def _pairs_within_runs(order: np.ndarray, keys_sorted: np.ndarray,
                       limit: int = 1 << 22) -> list[np.ndarray]:
    """All (a, b) of positions in `order` whose keys are equal, in bounded batches."""
    n = len(order)
    run_start = np.flatnonzero(np.r_[True, keys_sorted[1:] != keys_sorted[:-1]])
    run_end = np.repeat(np.r_[run_start[1:], n], np.diff(np.r_[run_start, n]))
    partners = run_end - np.arange(n) - 1  # later members of the same run
    cum = np.cumsum(partners)
    batches = []
    lo = 0
    while lo < n:
        base = cum[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(cum, base + limit, side="right")), lo + 1)
        counts = partners[lo:hi]
        total = int(counts.sum())
        if total:
            first = np.repeat(np.arange(lo, hi), counts)
            offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            batches.append(np.stack([order[first], order[first + 1 + offset]], axis=1))
        lo = hi
    return batches


def _unique_hash_pairs(unique: np.ndarray, max_distance: int) -> np.ndarray:
    """Pairs (a < b) of distinct hashes within `max_distance`, by multi-index hashing."""
    if max_distance <= 0 or len(unique) < 2:
        return np.zeros((0, 2), np.int64)
    found = []
    for lo, hi in _band_edges(max_distance):
        keys = (unique >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(keys, kind="stable")
        for cand in _pairs_within_runs(order, keys[order]):
            close = hamming(unique[cand[:, 0]], unique[cand[:, 1]]) <= max_distance
            found.append(np.sort(cand[close], axis=1))
    if not found:
        return np.zeros((0, 2), np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    code = np.unique(pairs[:, 0] * len(unique) + pairs[:, 1])  # a pair can share several bands
    return np.stack([code // len(unique), code % len(unique)], axis=1)


def near_duplicate_pairs(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """Every pair of images whose hashes differ in at most `max_distance` bits.

    Equal hashes are collapsed first, distinct hashes are paired by multi-index hashing,
    and the pairs are expanded back to images. The output lists every pair, so a group
    of k images with one hash contributes k*(k-1)/2 rows: collapse byte-identical copies
    first (`exact_duplicate_groups`) when groups may be large.

    Args:
        hashes: (N,) uint64 from `perceptual_hashes`.
        max_distance: the largest Hamming distance that counts as near (0..64). The
            search is fast for small distances (up to ~8 bits); it stays correct beyond.

    Returns:
        (m, 2) int64 index pairs, i < j, sorted.

    Examples:
        Test images that nearly copy a training image (a leakage check):

        >>> h = perceptual_hashes(np.concatenate([train, test]))
        >>> p = near_duplicate_pairs(h, 4)
        >>> leaks = p[(p[:, 0] < len(train)) & (p[:, 1] >= len(train))]
    """
    hashes = np.asarray(hashes, np.uint64)
    if not 0 <= max_distance <= 64:
        raise ValueError(f"max_distance must be 0..64. Received: max_distance={max_distance}")
    unique, inverse = np.unique(hashes, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(unique))
    start = np.r_[0, np.cumsum(counts)[:-1]]
    rows = _pairs_within_runs(order, inverse[order])  # equal hashes: distance 0
    close = _unique_hash_pairs(unique, max_distance)
    if len(close):  # every image of hash a with every image of hash b
        ca, cb = counts[close[:, 0]], counts[close[:, 1]]
        which = np.repeat(np.arange(len(close)), ca * cb)
        t = np.arange(len(which)) - np.repeat(np.cumsum(ca * cb) - ca * cb, ca * cb)
        rows.append(np.stack([order[start[close[which, 0]] + t // cb[which]],
                              order[start[close[which, 1]] + t % cb[which]]], axis=1))
    if not rows:
        return np.zeros((0, 2), np.int64)
    pairs = np.sort(np.concatenate(rows).astype(np.int64), axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def aligned_correlation(a: np.ndarray, b: np.ndarray, shift: int = 1,
                        chunk: int = 4096) -> np.ndarray:
    """Best Pearson correlation of thumbnail pairs over shifts of up to `shift` pixels.

    Invariant to brightness and contrast (each window is standardised) and tolerant of
    small translations: copies of one picture score above 0.97, distinct blood cells
    rarely above 0.95 (grey 32x32 thumbnails of the real data).

    Args:
        a, b: (P, H, W) thumbnails (or one (H, W) thumbnail broadcast against many).
        shift: largest translation tried, in thumbnail pixels.
        chunk: pairs per vectorised step (bounds memory).

    Returns:
        (P,) float32 in [-1, 1].
    """
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))  # views: converted per chunk
    out = np.empty(a.shape[:-2], np.float32)
    h, w = a.shape[-2:]
    for start in range(0, len(a), chunk):
        x = a[start:start + chunk, shift:h - shift, shift:w - shift].astype(np.float32)
        x = x - x.mean(axis=(1, 2), keepdims=True)
        x_norm = np.sqrt((x * x).sum(axis=(1, 2)))
        best = np.full(len(x), -1.0, np.float32)
        for dy in range(-shift, shift + 1):
            for dx in range(-shift, shift + 1):
                y = b[start:start + chunk, shift + dy:h - shift + dy, shift + dx:w - shift + dx]
                y = y.astype(np.float32)
                y -= y.mean(axis=(1, 2), keepdims=True)
                c = (x * y).sum(axis=(1, 2)) / (x_norm * np.sqrt((y * y).sum(axis=(1, 2))) + 1e-6)
                best = np.maximum(best, c)
        out[start:start + chunk] = best
    return out
