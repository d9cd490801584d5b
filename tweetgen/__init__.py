"""tweetgen: a serverless pipeline that learns to write tweets in the style of one account.

Feature, training and inference pipelines talk only through a feature store and a model
registry. Each has an embedded default (Delta Lake tables and folders under ``data/``) and a
cloud counterpart (Hopsworks), chosen explicitly by ``TWEETGEN_BACKEND``.
"""

__version__ = "0.1.0"
