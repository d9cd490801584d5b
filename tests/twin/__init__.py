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
(``python/tests/fixtures/*.json``) its JSON shapes follow, and where an answer comes from the
backend's own source (hopsworks ``RESTCodes``, ``DatasetHelper``), says so.

By default the twin is kind: jobs end inside the request that starts them, Kafka takes every row.
It is unkind on demand, with switches its tests use:

- ``http.fail`` / ``http.stall`` / ``http.clear_faults``: an error status (a burst of 5xx with
  ``count``) or a silence on the matching requests;
- ``backend.broker.refuse`` / ``stall`` / ``stop_taking_rows_after`` / ``heal``: a Kafka broker on a
  closed port or a silent one (the SDK then gets the real ``confluent_kafka`` clients), or one
  whose deliveries time out mid-write;
- ``fixtures.slow_jobs``: jobs that pass through SUBMITTED, RUNNING and AGGREGATING_LOGS for
  Serverless' minutes on a virtual clock; ``backend.stream.fail_next_materialization``: a job that
  fails; ``backend.jobs.hold_next``: one that outlasts the client;
- ``backend.files.absent_answer``: a missing path answered 404/110008 instead of the dataset
  resource's 400/110018.
"""
