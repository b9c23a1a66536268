"""semisup: semi-supervised learning from a few labels and many unlabeled examples."""

__version__ = "0.1.0"
