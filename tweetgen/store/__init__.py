"""The feature store: the port (``port``), row validation, one adapter per backend (``local``:
Delta Lake under ``data/``; ``hopsworks``), SQL over the groups (``query``) and the factory that
picks the backend the settings name (``factory``)."""
