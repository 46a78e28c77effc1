"""The training stage: experiments and how they are trained and tuned.

Owns scaffolding a new experiment (`scaffold`; the experiments themselves are
`harness.experiments`), the configuration (`config`), the fit itself (`fit`) over its
data pipeline (`pipeline`), how a model's training ended (`stopping`: the early stop, the
epoch kept, an unstable validation curve), the optimizer and its learning-rate schedule
(`optim`), the run folder's bookkeeping (`runs`), the augmentation registry
(`augmentation`), pretrained backbones (`backbones`) and hyper-parameter search
(`tuning`).

Examples:
    >>> from harness.training import train, tune
    >>> train("baseline_cnn", epochs=3, seed=0).val_accuracy

Every name below is imported on first use, so `import harness.training` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "fit": ["train", "TrainResult"],
    "pipeline": ["make_dataset", "class_weights"],
    "stopping": ["Ending", "SWING", "WINDOW"],
    "optim": ["make_optimizer"],
    "config": ["DEFAULTS", "parse_overrides", "resolve_config"],
    "runs": ["default_data", "unfinished_run", "plot_history"],
    "scaffold": ["new_experiment", "NewResult"],
    "augmentation": ["AUGMENTATIONS", "build_augmenter"],
    "backbones": ["backbone_classifier"],
    "tuning": ["tune", "TuneResult"],
})
