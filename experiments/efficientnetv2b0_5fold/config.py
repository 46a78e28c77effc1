"""efficientnetv2b0_5fold: a seed team's five EfficientNetV2B0 models on stratified folds,
combined by majority vote.

Every choice below is the team's report's unless its comment says otherwise.
"""

CONFIG = {
    "weights": "imagenet",     # ImageNet weights. Tests and offline use: None
    "image_size": 96,          # the model's internal Resizing; tests shrink it to 32
    "folds": 5,                # report: 5 stratified folds, one model each
    "ensemble": "vote",        # report: majority vote of the five
    "dense": 128,              # ours: one small dense layer before the classifier
    "dropout": 0.3,            # ours
    "augment": ["flip", "color"],  # ours: the report names no augmentation
    "early_stopping": 4,       # ours
    "reduce_lr": 2,            # ours
    "epochs": 20,
    "validation_split": 0.0,   # unused with folds: each model validates on its own fold
}

SEARCH_SPACE = {
    "learning_rate": (1e-4, 3e-3),
    "dropout": [0.2, 0.3, 0.5],
}
