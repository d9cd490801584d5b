"""Open the feature store the settings name, importing a backend's SDK only when it is chosen."""

from __future__ import annotations

import importlib

from tweetgen.config import Settings
from tweetgen.store.port import FeatureStore

#: Backend name -> the class implementing the port (``module:Class``), imported on first use.
FEATURE_STORES = {
    "local": "tweetgen.store.local:LocalFeatureStore",
    "hopsworks": "tweetgen.store.hopsworks:HopsworksFeatureStore",
}


def open_feature_store(settings: Settings) -> FeatureStore:
    """Return the feature store of ``settings.backend`` (never a silent fallback to another)."""
    module_name, class_name = FEATURE_STORES[settings.backend].split(":")
    return getattr(importlib.import_module(module_name), class_name).from_settings(settings)
