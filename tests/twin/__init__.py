"""A twin of Hopsworks at the wire, for offline tests of the real ``hopsworks`` SDK.

The SDK's own code runs (``hopsworks``, ``hsfs``, ``hsml``, ``hopsworks_common``); what a
Hopsworks cluster would do on the other side of the network is done here:

- ``server``: assembles the twin; ``fixtures``: the pytest fixtures tests import.
- ``rest``: the HTTPS server, its router, Hopsworks' error bodies, injected faults and stalls.
- ``tls``: a throw-away CA, the server and client certificates, the JKS stores.
- ``routes_platform``: login, project, variables, credentials.
- ``routes_featurestore``, ``featurestore``, ``rules``: feature groups and the backend's checks.
- ``kafka``: the producer's other side, the materialization job, OnlineFS.
- ``jobs``: jobs and executions; ``query`` and ``flight``: the Query Service (Arrow Flight).
- ``featureviews``: feature views and training datasets.
- ``datasets``: the project's files (dataset API); ``registry``: the model registry.

Each module's docstring names the SDK calls it answers and the hopsworks-api test fixture
(``python/tests/fixtures/*.json``) its JSON shapes follow.
"""
