"""Pick the feature-store backend named in the settings, importing its SDK only when chosen."""

from __future__ import annotations

import importlib

from tweetgen.config import Settings
from tweetgen.feature_store import FeatureStore

FEATURE_STORES = {
    "local": "tweetgen.store_local:LocalFeatureStore",
    "hopsworks": "tweetgen.store_hopsworks:HopsworksFeatureStore",
}


def open_feature_store(settings: Settings) -> FeatureStore:
    """Return the feature store of ``settings.backend`` (never a silent fallback to another)."""
    module_name, class_name = FEATURE_STORES[settings.backend].split(":")
    store_class = getattr(importlib.import_module(module_name), class_name)
    return store_class.from_settings(settings)
