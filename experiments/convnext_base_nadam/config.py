"""convnext_base_nadam: the second seed team's ConvNeXtBase (NAdam, one dense layer).

Every choice below is the team's report's unless its comment says otherwise.
"""

CONFIG = {
    "weights": "imagenet",     # report: ImageNet weights. Tests and offline use: None
    "image_size": 96,          # the model's internal Resizing; tests shrink it to 32
    "trainable_layers": 0,     # 0 = the whole backbone trains (the report fine-tunes it)
    "dense": 256,              # report: one dense layer (its width is ours)
    "dropout": 0.3,            # ours
    "optimizer": "nadam",      # report: NAdam
    "learning_rate": 1e-4,     # ours: a fine-tuning rate
    # class_weights: the default, False (report: trained on the original class distribution)
    # report: wide augmentation (flips, rotations, zoom, shifts, colour) plus RandAugment
    "augment": ["flip", "geometric", "color", "randaugment"],
    "early_stopping": 5,       # ours
    "reduce_lr": 3,            # ours
    "epochs": 30,
    "batch_size": 32,
}

SEARCH_SPACE = {
    "learning_rate": (3e-5, 1e-3),
    "dropout": [0.2, 0.3, 0.5],
}
