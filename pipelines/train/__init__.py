"""Seeded torch/transformers training of the repo's models into safetensors artifacts.

`train_model(config, dataset, train_df, val_df, out_dir)` is the entry; torch and transformers are
imported only when it runs, so importing this package is cheap.
"""

from pipelines.train.device import Device, pick_device
from pipelines.train.sampling import subsample
from pipelines.train.seed import seed_everything
from pipelines.train.trainer import TrainResult, train_model

__all__ = ["Device", "TrainResult", "pick_device", "seed_everything", "subsample", "train_model"]
