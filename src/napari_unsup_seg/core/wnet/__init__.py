"""The W-Net (Xia & Kulis 2017): model, soft N-cut loss, training and inference."""

from .infer import (
    WNetParams,
    WNetResult,
    as_model_input,
    file_sha256,
    labels_from_soft,
    load_model,
    predict,
    predict_soft,
    save_weights,
    shipped_weights_path,
)
from .model import WNet, WNetConfig
from .ncut import dense_soft_ncut_loss, soft_ncut_loss
from .train import TrainParams, train

__all__ = [
    "TrainParams",
    "WNet",
    "WNetConfig",
    "WNetParams",
    "WNetResult",
    "as_model_input",
    "dense_soft_ncut_loss",
    "file_sha256",
    "labels_from_soft",
    "load_model",
    "predict",
    "predict_soft",
    "save_weights",
    "shipped_weights_path",
    "soft_ncut_loss",
    "train",
]
