"""Login, project, variables and credentials: what ``hopsworks.login(..., engine="python")`` calls.

- ``GET variables/versions`` (``VariableApi._get_version``, read by ``Connection._connect``).
- ``GET project/getProjectInfo/{name}`` (``Client._get_project_info`` and ``ProjectApi._get_project``).
- ``GET project`` (``Client._get_username``: ``[0]["user"]["username"]`` of the project teams).
- ``GET project/{id}/credentials`` (``Client._materialize_certs``: base64 JKS key and trust stores
  and their password, which the Kafka connector turns into PEM files, and the PEM CA chain, client
  certificate and key the Query Service client uses).
- ``GET variables/{name}`` (``VariableApi._get_variable``: ``{"successMessage": value}``, 404
  when unset; ``enable_flyingduck`` and ``loadbalancer_external_domain_feature_query`` decide
  whether reads find a Query Service).

Shapes: hopsworks-api ``python/tests/fixtures/user_fixtures.json`` and ``feature_store_fixtures.json``
(decamelized there), ``python/tests/core/test_variable_api.py`` and ``client/test_external_client.py``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from tests.twin.rest import HopsworksError, Request, Router

if TYPE_CHECKING:
    from tests.twin.backend import Backend


def add_routes(router: Router, backend: Backend) -> None:
    project = backend.project

    def project_info(request: Request) -> dict[str, Any]:
        if request.params["name"] != project.name:
            raise HopsworksError(404, 150004, "Project wasn't found.", f"No project named {request.params['name']}")
        return backend.project_json()

    def project_teams(request: Request) -> list[dict[str, Any]]:
        return [{"project": {"id": project.id, "name": project.name}, "user": {"username": project.user}}]

    def credentials(request: Request) -> dict[str, Any]:
        pems, password = backend.pems, backend.store_password
        return {
            "kStore": base64.b64encode(pems.key_store(password)).decode(),
            "tStore": base64.b64encode(pems.trust_store(password)).decode(),
            "password": password,
            "caChain": pems.ca,
            "clientCert": pems.client_cert,
            "clientKey": pems.client_key,
        }

    def variable(request: Request) -> dict[str, Any]:
        name = request.params["name"]
        if name not in backend.variables:
            raise HopsworksError(404, 100010, f"Variable {name} not found.")
        return {"successMessage": backend.variables[name]}

    router.add("GET", "variables/versions", lambda r: [{"software": "hopsworks", "version": backend.version}])
    router.add("GET", "variables/{name}", variable)
    router.add("GET", "project/getProjectInfo/{name}", project_info)
    router.add("GET", "project", project_teams)
    router.add("GET", "project/{pid}/credentials", credentials)
