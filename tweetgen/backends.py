"""Pick the backends named in the settings, importing a backend's SDK only when it is chosen."""

from __future__ import annotations

import importlib

from tweetgen.config import Settings
from tweetgen.feature_store import FeatureStore
from tweetgen.registry import ModelRegistry

FEATURE_STORES = {
    "local": "tweetgen.store_local:LocalFeatureStore",
    "hopsworks": "tweetgen.store_hopsworks:HopsworksFeatureStore",
}

MODEL_REGISTRIES = {
    "local": "tweetgen.registry_local:LocalModelRegistry",
    "hopsworks": "tweetgen.registry_hopsworks:HopsworksModelRegistry",
}


def open_feature_store(settings: Settings) -> FeatureStore:
    """Return the feature store of ``settings.backend`` (never a silent fallback to another)."""
    return _load(FEATURE_STORES[settings.backend]).from_settings(settings)


def open_model_registry(settings: Settings) -> ModelRegistry:
    """Return the model registry of ``settings.backend`` (never a silent fallback to another)."""
    return _load(MODEL_REGISTRIES[settings.backend]).from_settings(settings)


def _load(path: str) -> type:
    module_name, class_name = path.split(":")
    return getattr(importlib.import_module(module_name), class_name)
