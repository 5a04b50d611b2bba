"""Models: baselines, the founding networks and FSRCNN, all behind one interface.

``create(name, scale=4)`` builds any of them, with its shipped weights when they exist; see
:mod:`vidsr.models.base` for the ``forward`` / streaming contract they share.
"""

from vidsr.models.base import ModelFacts, Streamer, VSRModel
from vidsr.models.denoise import denoise_weights
from vidsr.models.registry import MODELS, create, model_class, model_names, pretrained_path
from vidsr.models.weights import load_weights, save_weights

__all__ = [
    "MODELS",
    "ModelFacts",
    "Streamer",
    "VSRModel",
    "create",
    "denoise_weights",
    "load_weights",
    "model_class",
    "model_names",
    "pretrained_path",
    "save_weights",
]
