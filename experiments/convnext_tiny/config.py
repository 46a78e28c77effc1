"""convnext_tiny: a seed team's ConvNeXtTiny fine-tune, the lightest ConvNeXt.

The report gives the backbone only; the rest is ours, marked as such.
"""

CONFIG = {
    "weights": "imagenet",     # report: ImageNet weights. Tests and offline use: None
    "image_size": 96,          # the model's internal Resizing; tests shrink it to 32
    "dense": 256,              # ours
    "dropout": 0.3,            # ours
    "optimizer": "adamw",      # ours: AdamW, ConvNeXt's own training recipe
    "learning_rate": 1e-4,
    "weight_decay": 0.05,      # ours: the ConvNeXt paper's decay
    "label_smoothing": 0.1,    # ours: the ConvNeXt paper's smoothing
    "augment": ["flip", "randaugment", "mixup"],  # ours: ConvNeXt's recipe, lighter
    "early_stopping": 5,
    "reduce_lr": 3,
    "epochs": 30,
    "batch_size": 32,
}

SEARCH_SPACE = {
    "learning_rate": (3e-5, 1e-3),
    "weight_decay": (0.005, 0.1),
    "label_smoothing": [0.0, 0.1],
}
