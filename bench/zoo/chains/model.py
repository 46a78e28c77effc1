"""Code submission: the harness's template model.py.

The server imports this file from the submission folder, builds the model (Codabench
2024: `Model()` with no arguments; CodaLab 2023: `model(path)` with the submission's
folder, which `harness pack` provides as an alias below the class) and calls
`predict(X)` once with every test image (n, H, W, C), pixels 0-255.
It loads the models beside it (every `.keras` file and SavedModel folder, or their
`.tflite` twins; several make an ensemble) and reads its settings (TTA passes, ensemble
mode, chunk size, runtime, threads) from `submission.json`.
"""

import os

from harness_runtime import load_models, predict_labels, read_config

HERE = os.path.dirname(os.path.abspath(__file__))


class Model:
    def __init__(self, path=HERE):
        c = self.config = read_config(path)
        self.models = load_models(path, c["runtime"], c["threads"], c["batch_size"])

    def predict(self, X):
        c = self.config
        return predict_labels(self.models, X, c["tta"], c["ensemble"], c["chunk_size"])
