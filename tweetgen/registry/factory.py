"""Open the model registry the settings name, importing a backend's SDK only when it is chosen."""

from __future__ import annotations

import importlib

from tweetgen.config import Settings
from tweetgen.registry.port import ModelRegistry

#: Backend name -> the class implementing the port (``module:Class``), imported on first use.
MODEL_REGISTRIES = {
    "local": "tweetgen.registry.local:LocalModelRegistry",
    "hopsworks": "tweetgen.registry.hopsworks:HopsworksModelRegistry",
}


def open_model_registry(settings: Settings) -> ModelRegistry:
    """Return the model registry of ``settings.backend`` (never a silent fallback to another)."""
    module_name, class_name = MODEL_REGISTRIES[settings.backend].split(":")
    return getattr(importlib.import_module(module_name), class_name).from_settings(settings)
