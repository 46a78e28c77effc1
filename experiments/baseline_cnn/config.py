"""baseline_cnn: a small from-scratch CNN; 12 epochs: 6 min 52 s, real data, 2 cores (issue 29).

Other figures measured on a 2-core CPU (bench/RESULTS.md): 8 epochs in 311 s on the real
training split (10,142 images, 15% for validation); the 12 epochs in 250-370 s on 2,400
synthetic images, on a machine shared with other work.
"""

CONFIG = {
    "epochs": 12,             # few: the demo and tests train it on a CPU
    "learning_rate": 2e-3,
    "augment": ["flip"],      # names from harness.training.augmentation's registry
    "filters": [16, 32, 64],  # one conv block per entry, each halving the resolution
    "dense": 64,
    "dropout": 0.3,
    "bn_momentum": 0.9,       # 0.99 (Keras' default) lags short runs: see build.py
    "early_stopping": 5,      # patience in epochs on val accuracy; 0 turns it off
    "reduce_lr": 3,           # ReduceLROnPlateau patience; 0 turns it off
}

# harness tune samples these (Optuna): (low, high) floats log-uniform for rates,
# lists are categorical.
SEARCH_SPACE = {
    "learning_rate": (3e-4, 5e-3),
    "dropout": [0.1, 0.3, 0.5],
    "dense": [32, 64, 128],
}
