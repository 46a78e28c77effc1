"""vgg16: a seed team's VGG16 transfer-learning baseline.

The report gives the backbone only; the rest is ours, marked as such.
"""

CONFIG = {
    "weights": "imagenet",     # report: ImageNet weights. Tests and offline use: None
    "image_size": 96,          # the model's internal Resizing; tests shrink it to 32
    "trainable_layers": 4,     # ours: the last conv block (3 convs + pool) fine-tunes
    "dense": 256,              # ours
    "dropout": 0.5,            # ours
    "learning_rate": 1e-4,     # ours: a fine-tuning rate
    "augment": ["flip", "geometric"],  # ours
    "early_stopping": 5,       # ours
    "reduce_lr": 3,            # ours
    "epochs": 30,
    "batch_size": 32,
}

SEARCH_SPACE = {
    "learning_rate": (3e-5, 1e-3),
    "trainable_layers": [4, 8, 19],
}
