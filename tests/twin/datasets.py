"""The project's file system behind the dataset API (``hopsworks_common/core/dataset_api.py``).

- ``GET dataset/{path}`` (``DatasetApi._get``, hence ``exists``): the inode;
  ``?action=listing`` lists a directory (``_list_dataset_path``; ``inode_fixtures.json``).
- ``POST dataset/{path}?action=create`` (``mkdir``; parents are made, as HopsFS ``mkdirs`` does).
- ``POST dataset/upload/{dir}`` (``_upload_request``): flow.js chunks as multipart form data; the
  file appears when its last chunk arrives. The directory must exist.
- ``GET dataset/download/with_auth/{path}?type=DATASET`` (``download``, ``read_content``).
- ``DELETE dataset/{path}`` (``remove``).

Paths are relative to the project (``Models/x``) or absolute (``/Projects/<project>/Models/x``).

A path that does not exist is answered as the backend answers it: HTTP **400**, error code
**110018** "Path not found". ``DatasetResource.getByPath`` (hopsworks-api
``io/hops/hopsworks/api/dataset/DatasetResource.java``) resolves every path through
``DatasetHelper.getDatasetPathIfFileExist``, whose ``checkFileExist`` throws
``DatasetException(RESTCodes.DatasetErrorCode.PATH_NOT_FOUND)``, declared in ``RESTCodes.java`` as
``PATH_NOT_FOUND(110018, "Path not found", Response.Status.BAD_REQUEST)``. Other services of the same
backend answer a missing file with HTTP 404, error code 110008 ``INODE_NOT_FOUND`` (``RESTCodes``:
``Response.Status.NOT_FOUND``; recorded by the SDK's own notes, ``hopsworks/skills/platform/
hops-environments/SKILL.md``: ``{"errorCode":110008,"usrMsg":"path: /Projects/<project>/requirements.txt",
"errorMsg":"File not found."}``); ``Files.absent_answer = INODE_NOT_FOUND`` makes the twin answer so,
for code that must read both as "absent".
"""

from __future__ import annotations

import email.parser
import email.policy
import posixpath
import threading
from typing import Any

from tests.twin.rest import HopsworksError, Raw, Request, Router

TOP_LEVEL = ("Models", "Resources", "Logs", "Jupyter", "Experiments", "Statistics", "DataValidation")


#: (HTTP status, error code, error message) of the two ways the backend says "no such path".
PATH_NOT_FOUND = (400, 110018, "Path not found")  # DatasetHelper.checkFileExist: the dataset resource
INODE_NOT_FOUND = (404, 110008, "File not found.")  # RESTCodes INODE_NOT_FOUND, as recorded in the SDK's notes


class Files:
    def __init__(self, project: str) -> None:
        self.project = project
        self.files: dict[str, bytes] = {}
        self.dirs: set[str] = set(TOP_LEVEL)
        self._chunks: dict[tuple[str, str], dict[int, bytes]] = {}
        self._lock = threading.Lock()
        self.absent_answer = PATH_NOT_FOUND  # how a missing path is refused (see the module docstring)

    def not_found(self, path: str) -> HopsworksError:
        status, code, message = self.absent_answer
        return HopsworksError(status, code, message, f"path: {self.absolute(path)}")

    def norm(self, path: str) -> str:
        path = path.strip("/")
        prefix = f"Projects/{self.project}/"
        return posixpath.normpath(path[len(prefix) :] if path.startswith(prefix) else path).strip("/")

    def absolute(self, path: str) -> str:
        return f"/Projects/{self.project}/{self.norm(path)}"

    def exists(self, path: str) -> bool:
        path = self.norm(path)
        return path in self.files or path in self.dirs

    def write(self, path: str, content: bytes) -> None:
        path = self.norm(path)
        self.mkdirs(posixpath.dirname(path))
        self.files[path] = content

    def mkdirs(self, path: str) -> None:
        while path and path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def inode(self, path: str) -> dict[str, Any]:
        path = self.norm(path)
        if path not in self.files and path not in self.dirs:
            raise self.not_found(path)
        attributes = {
            "name": posixpath.basename(path),
            "path": self.absolute(path),
            "dir": path in self.dirs,
            "size": len(self.files.get(path, b"")),
            "owner": "twin_user",
            "modificationTime": "2026-01-01T00:00:00Z",
        }
        inode = {"attributes": attributes, "href": f"dataset/{path}"}
        if "/" not in path and path in self.dirs:
            inode["datasetType"] = "DATASET"
        return inode

    def listing(self, path: str) -> dict[str, Any]:
        path = self.norm(path)
        if path not in self.dirs:
            raise self.not_found(path)
        children = sorted(p for p in (*self.files, *self.dirs) if posixpath.dirname(p) == path)
        return {"count": len(children), "items": [self.inode(c) for c in children]}

    def remove(self, path: str) -> None:
        path = self.norm(path)
        if path not in self.files and path not in self.dirs:
            raise self.not_found(path)
        for name in [p for p in self.files if p == path or p.startswith(path + "/")]:
            del self.files[name]
        self.dirs -= {d for d in self.dirs if d == path or d.startswith(path + "/")}

    def upload_chunk(self, directory: str, form: dict[str, Any]) -> None:
        directory = self.norm(directory)
        if directory not in self.dirs:
            raise self.not_found(directory)
        name, total = form["flowFilename"], int(form["flowTotalChunks"] or 1)
        with self._lock:
            parts = self._chunks.setdefault((directory, form["flowIdentifier"]), {})
            parts[int(form["flowChunkNumber"])] = form["file"]
            if len(parts) >= total:
                del self._chunks[(directory, form["flowIdentifier"])]
                self.files[f"{directory}/{name}"] = b"".join(parts[n] for n in sorted(parts))


def parse_form(request: Request) -> dict[str, Any]:
    """A multipart/form-data body as ``{name: str or bytes}`` (bytes for the file part)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        form[name] = payload if part.get_filename() else payload.decode()
    return form


def add_routes(router: Router, files: Files) -> None:
    def get(request: Request) -> dict[str, Any]:
        if request.query.get("action") == "listing":
            return files.listing(request.params["path"])
        return files.inode(request.params["path"])

    def create(request: Request) -> dict[str, Any]:
        path = files.norm(request.params["path"])
        if request.query.get("action") != "create":
            raise HopsworksError(400, 110001, "Operation cannot be performed.", f"action {request.query}")
        if path in files.dirs or path in files.files:
            raise HopsworksError(400, 110047, "A sub-directory with the same name already exists.", path)
        files.mkdirs(path)
        return files.inode(path)

    def download(request: Request) -> Raw:
        path = files.norm(request.params["path"])
        if path in files.dirs:
            raise HopsworksError(400, 110020, "Requested path is a directory", path)
        if path not in files.files:
            raise files.not_found(path)
        return Raw(files.files[path])

    def upload(request: Request) -> dict[str, Any]:
        files.upload_chunk(request.params["path"], parse_form(request))
        return {"successMessage": "chunk uploaded"}

    def remove(request: Request) -> None:
        files.remove(request.params["path"])

    router.add("GET", "project/{p}/dataset/download/with_auth/{path}", download)
    router.add("POST", "project/{p}/dataset/upload/{path}", upload)
    router.add("GET", "project/{p}/dataset/{path}", get)
    router.add("POST", "project/{p}/dataset/{path}", create)
    router.add("DELETE", "project/{p}/dataset/{path}", remove)
