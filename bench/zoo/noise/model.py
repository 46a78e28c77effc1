"""Codabench submission: the harness's template model.py.

The server imports this file from the submission folder, builds `Model()` with no
arguments and calls `predict(X)` once with every test image, uint8 (n, 96, 96, 3).
It loads the models beside it (every `.keras` file and SavedModel folder, or their
`.tflite` twins; several make an ensemble) and reads its settings (TTA passes, ensemble
mode, chunk size, runtime, threads) from `submission.json`.
"""

import os

from harness_runtime import load_models, predict_labels, read_config

HERE = os.path.dirname(os.path.abspath(__file__))


class Model:
    def __init__(self):
        c = self.config = read_config(HERE)
        self.models = load_models(HERE, c["runtime"], c["threads"], c["batch_size"])

    def predict(self, X):
        c = self.config
        return predict_labels(self.models, X, c["tta"], c["ensemble"], c["chunk_size"])
