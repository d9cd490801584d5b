"""Connections to cloud services that more than one adapter shares (``hopsworks``)."""
