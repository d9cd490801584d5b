"""The model registry: the port (``port``), the champion rule (``champion``), the files every
version holds (``model_card``), one adapter per backend (``local``, ``hopsworks``) and the factory
that picks the backend the settings name (``factory``)."""
