"""The report's figures, drawn with matplotlib into PNG bytes that never change by themselves.

Every figure is saved at a fixed dpi with matplotlib's `Software` metadata removed, so
the same numbers give the same bytes and a report regenerated with nothing changed is
identical apart from its timestamp. `data_uri` turns any PNG into the `data:` URL the
self-contained page embeds.
"""

from __future__ import annotations

import base64
import io

import numpy as np

DPI = 100


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # Rotated class names reach past the axes: "tight" keeps them on the picture.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight",
                pad_inches=0.1)
    _plt().close(fig)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def compact_png(png: bytes, max_width: int = 1400) -> bytes:
    """A photo-like PNG (contact sheet, Grad-CAM gallery) made fit for inlining: shrunk by
    a whole factor until it fits the page, then put on a 256-colour palette.

    A gallery of 24 mistakes is 0.5-1 MB as drawn and about a third of that on a palette,
    with no difference a person sees at that size; both steps are deterministic."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > max_width:
        factor = -(-image.width // max_width)
        image = image.resize((image.width // factor, image.height // factor), Image.LANCZOS)
    buf = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def heatmap(values: np.ndarray, rows: list[str], columns: list[str], title: str) -> bytes:
    """Accuracy per row and column, 0..1 on a red-to-green scale, each cell written out."""
    plt = _plt()
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.62 * len(columns) + 2.6),
                                    max(2.0, 0.42 * len(rows) + 1.6)))
    ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(columns)):
            v = values[i, j]
            ax.text(j, i, "—" if np.isnan(v) else f"{v:.2f}", ha="center", va="center",
                    fontsize=7, color="black")
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)


def confusion(matrix: list[list[int]], class_names: list[str], title: str) -> bytes:
    """Counts, coloured by each true class's share (rows: true, columns: predicted)."""
    plt = _plt()
    cm = np.asarray(matrix, dtype=float)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(cm)):
        for j in range(len(cm)):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black")
    labels = [f"{i} {n[:12]}" for i, n in enumerate(class_names)]
    ax.set_xticks(range(len(cm)), [str(i) for i in range(len(cm))], fontsize=8)
    ax.set_yticks(range(len(cm)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _png(fig)


def history(history_: dict) -> bytes:
    """Loss and accuracy per epoch (train dashed, validation solid) from history.json."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "--"), (f"val_{metric}", "-")):
            values = [v for v in history_.get(key) or [] if v is not None]
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def calibration(points: list[dict], line: tuple[float, float] | None, title: str) -> bytes:
    """Local forecast against the recorded Codabench score, each point labelled, the
    fitted line and the diagonal where the two would agree."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.6))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="forecast = Codabench")
    if line is not None:
        slope, intercept = line
        xs = np.array([0.0, 1.0])
        ax.plot(xs, slope * xs + intercept, "-", color="C1",
                label=f"fit: Codabench = {slope:.2f} x forecast {intercept:+.2f}")
    styles = {"calibration": ("C0", "o", "the calibration's real points"),
              "leaderboard": ("C2", "s", "recorded on the leaderboard")}
    for source, (colour, marker, label) in styles.items():
        mine = [p for p in points if p.get("source", "leaderboard") == source]
        if mine:
            ax.scatter([p["forecast"] for p in mine], [p["codabench"] for p in mine],
                       color=colour, marker=marker, zorder=3, label=label)
    for p in points:
        ax.annotate(str(p["experiment"])[:24], (p["forecast"], p["codabench"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=7)
    if not points:
        ax.text(0.5, 0.5, "no Codabench scores recorded yet\n(harness record ZIP --codabench S)",
                ha="center", va="center", fontsize=9, color="grey")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("local forecast (pseudo-private)")
    ax.set_ylabel("Codabench")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _png(fig)
