"""resnet_cnn: a small from-scratch residual network (ResNet basic blocks) for the CPU.

A stride-2 stem and a max-pool take 96x96 images to 24x24; each stage is one basic
block (two 3x3 convolutions, batch norm, an identity or 1x1 projection shortcut) and
halves the resolution after the first: the shortcuts that let deeper networks train.

On the real training split (10,142 images, a tenth for validation), 2 CPU cores, 8 epochs
took 292 s, where a baseline_cnn of four blocks took 468 s for 12 (bench/RESULTS.md, the
zoo).
"""

CONFIG = {
    "learning_rate": 3e-3,
    "lr_schedule": "cosine",  # constant | cosine (to 0 over the run; needs reduce_lr=0)
    "warmup_epochs": 0.5,     # cosine only: epochs of linear warm-up from 0
    "augment": ["flip"],      # names from harness.training.augmentation's registry
    "stem": 32,               # filters of the stride-2 stem convolution
    "stages": [32, 64, 128],  # one basic block per entry; each after the first halves
    "dense": 128,
    "dropout": 0.3,
    "bn_momentum": 0.9,       # 0.99 (Keras' default) lags short runs: see baseline_cnn
    "validation_split": 0.1,
}

SEARCH_SPACE = {
    "learning_rate": (1e-3, 5e-3),
    "dropout": [0.1, 0.3, 0.5],
}
