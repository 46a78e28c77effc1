"""How a model's training ended: whether early stopping ended it (at which epoch, out of
how many), which epoch's weights were kept, and whether its validation curve was too
unstable to trust one epoch's number.

The rule for an unstable curve: over the last `WINDOW` epochs (all of them when fewer),
the monitored validation accuracy moved by more than `SWING` between two consecutive
epochs. A curve that swings like that makes "the best epoch" a draw of the noise: a
run of baseline_cnn stopped at epoch 11 of 12 while its validation accuracy went
between 0.34 and 0.89, and said nothing. Typical causes: too few steps for batch
norm's moving statistics to follow the weights, a learning rate too high for the
batch, a validation set too small.

Examples:
    >>> curve = {"val_accuracy": [0.5, 0.7, 0.34, 0.89, 0.4, 0.85], "loss": [1] * 6}
    >>> end = ending("weights", curve, planned=12, stopped_epoch=5, best_epoch=3)
    >>> end.stopped_early, end.kept, round(end.swing, 2), end.unstable
    (True, 4, 0.55, True)
    >>> print(end.notes()[0])
    weights: early stopping ended training after epoch 6 of 12 (val_accuracy did not
    improve for 2 epochs); the weights kept are epoch 4's (val_accuracy 0.8900, the best)
"""

from __future__ import annotations

from dataclasses import dataclass

# The unstable-curve rule (see the module docstring): a consecutive-epoch change of more
# than SWING accuracy within the last WINDOW epochs.
SWING = 0.15
WINDOW = 5
MONITOR = "val_accuracy"


@dataclass
class Ending:
    """How one model's training ended.

    Args:
        model: the model's name in the run (`weights`, `fold_1`...).
        planned: the epochs asked for; ran: the epochs it trained (before a resume too).
        stopped_early: whether early stopping ended it before `planned`.
        kept: the epoch (from 1) whose weights were saved; kept_value: its monitored value.
        kept_why: "the best" (early stopping restores the best epoch) or "the last".
        monitor: the metric early stopping watched, and the curve is judged on.
        swing: the largest change of `monitor` between consecutive epochs in the last
            `WINDOW`; low, high: its range there. None without a validation set.
        unstable: swing > `SWING`.
    """

    model: str
    planned: int
    ran: int
    stopped_early: bool
    kept: int
    kept_why: str
    monitor: str | None
    kept_value: float | None
    swing: float | None
    low: float | None
    high: float | None
    unstable: bool

    def notes(self) -> list[str]:
        """What a person should read: the early stop and the kept epoch, when either is
        not simply the last of the planned epochs."""
        value = f"{self.monitor} {self.kept_value:.4f}, " if self.kept_value is not None else ""
        kept = f"the weights kept are epoch {self.kept}'s ({value}{self.kept_why})"
        if self.stopped_early:
            return [f"{self.model}: early stopping ended training after epoch {self.ran} of "
                    f"{self.planned} ({self.monitor} did not improve for "
                    f"{self.ran - self.kept} epochs); {kept}"]
        return [f"{self.model}: {kept}"] if self.kept != self.ran else []

    def warning(self) -> str | None:
        """The unstable curve, in one line, or None."""
        if not self.unstable:
            return None
        return (f"{self.model}: unstable validation curve: {self.monitor} moved by up to "
                f"{self.swing:.3f} between consecutive epochs over the last {WINDOW} "
                f"(between {self.low:.2f} and {self.high:.2f}; the rule: more than {SWING}), "
                f"so the kept epoch's number is partly luck. Try a lower learning rate, a "
                f"larger validation split, or more epochs")


def stop_callbacks(config: dict, monitor_prefix: str) -> tuple[list, object | None]:
    """The Keras callbacks a config asks for (EarlyStopping on accuracy, restoring the
    best epoch; ReduceLROnPlateau on loss) and the EarlyStopping one, or None."""
    import keras

    callbacks, early = [], None
    if config["early_stopping"]:
        early = keras.callbacks.EarlyStopping(
            monitor=monitor_prefix + "accuracy", patience=int(config["early_stopping"]),
            restore_best_weights=True)
        callbacks.append(early)
    if config["reduce_lr"]:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor_prefix + "loss", patience=int(config["reduce_lr"]), factor=0.3,
            min_lr=float(config["learning_rate"]) / 100))
    return callbacks, early


def ending(model: str, history: dict, planned: int, stopped_epoch: int | None = None,
           best_epoch: int | None = None) -> Ending:
    """How training ended, from the model's per-epoch history and its EarlyStopping.

    Args:
        model: the model's name in the run.
        history: metric name -> per-epoch values (every epoch, a resume's too).
        planned: the epochs asked for.
        stopped_epoch, best_epoch: EarlyStopping's (0-based; Keras' `stopped_epoch` is 0
            when it did not stop the run); None without early stopping. Keras 3 restores
            the best epoch's weights at the end of training whether or not it stopped.
    """
    ran = len(history.get("loss") or next(iter(history.values()), []))
    monitor = MONITOR if history.get(MONITOR) else ("accuracy" if history.get("accuracy")
                                                   else None)
    curve = [v for v in history.get(monitor, []) if v is not None] if monitor else []
    restored = best_epoch is not None and 0 <= best_epoch < ran
    kept = best_epoch + 1 if restored else ran
    window = curve[-WINDOW:]
    steps = [abs(b - a) for a, b in zip(window, window[1:])]
    swing = max(steps) if steps and monitor == MONITOR else None
    return Ending(
        model=model, planned=planned, ran=ran,
        stopped_early=bool(stopped_epoch) and ran < planned, kept=kept,
        kept_why="the best" if restored else "the last", monitor=monitor,
        kept_value=curve[kept - 1] if 0 < kept <= len(curve) else None, swing=swing,
        low=min(window) if swing is not None else None,
        high=max(window) if swing is not None else None,
        unstable=swing is not None and swing > SWING)
