"""robust_cnn: baseline_cnn's network; only the training augmentation differs (config.py)."""

from harness.experiments import get_experiment


def build_model(config, profile):
    """The baseline_cnn network, built from this experiment's config."""
    return get_experiment("baseline_cnn").builder().build_model(config, profile)
