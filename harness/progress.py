"""Progress bars for anything long (tqdm), quiet when output is for a script."""

from __future__ import annotations

import functools
import sys

from tqdm.auto import tqdm


def progress_bar(desc: str, disable: bool = False, **kwargs):
    """A function that wraps an iterable in a tqdm bar on stderr.

    Off with `disable=True` (e.g. under `--json`); otherwise tqdm's own rule applies
    (`disable=None`: no bar when stderr is not a terminal), so CI logs stay readable.
    """
    return functools.partial(tqdm, desc=desc, disable=True if disable else None, file=sys.stderr,
                             leave=False, dynamic_ncols=True, **kwargs)


def above_bars():
    """A context to print a line on stderr in: any bar showing is cleared, then redrawn
    below the line, rather than torn by it."""
    return tqdm.external_write_mode(file=sys.stderr)


def progress_callback(total_epochs: int, steps: int, desc: str, enabled: bool):
    import keras

    make_bar = progress_bar(desc, disable=not enabled)

    class Bar(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.bar = make_bar(total=steps, unit="batch")
            self.bar.set_description(f"{desc} epoch {epoch + 1}/{total_epochs}")

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in (logs or {}).items()}, refresh=False)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.close()
    return Bar()
