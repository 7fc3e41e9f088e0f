"""MLflow's REST API, as much of it as the sync needs (MLflow 3.x tracking server).

The registry never imports the `mlflow` package: it speaks the tracking server's REST API with
`requests`. Model files are read through the server's artifact proxy
(`/api/2.0/mlflow-artifacts/artifacts/...`, on when the server runs with `--serve-artifacts`,
MLflow's default), so the registry needs no credentials for the store behind it.

Connection failures, timeouts and 5xx answers are retried with back-off (urllib3's Retry);
what still fails is `MlflowUnreachable`. A 4xx answer is `MlflowError` with MLflow's error code.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PAGE_SIZE = 100
CHUNK = 1024 * 1024
# A model directory deeper or larger than this is not a model directory.
MAX_DEPTH = 8
MAX_FILES = 1000


class MlflowUnreachable(Exception):
    """The tracking server did not answer (refused, timed out, 5xx) after the retries."""


class MlflowError(Exception):
    """The tracking server answered with an error about the request (4xx)."""

    def __init__(self, message: str, *, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def display_uri(tracking_uri: str) -> str:
    """The tracking URI without credentials and trailing slash: what records and the audit
    trail keep (a password in the URI is never stored)."""
    parts = urlsplit(tracking_uri.strip())
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def check_tracking_uri(tracking_uri: str) -> str:
    """The URI if it can be a tracking server's address, else ValueError naming the fault."""
    parts = urlsplit(tracking_uri.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{display_uri(tracking_uri) or tracking_uri!r} is not an MLflow tracking server "
            "address: give http(s)://host:port"
        )
    return tracking_uri.strip().rstrip("/")


@dataclass(frozen=True)
class RemoteFile:
    path: str  # relative to the version's artifact directory
    size: int | None


@dataclass(frozen=True)
class Downloaded:
    path: str  # local file
    size: int
    sha256: str


class MlflowClient:
    def __init__(
        self,
        tracking_uri: str,
        *,
        timeout: float = 30,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.base = check_tracking_uri(tracking_uri)
        self.netloc = urlsplit(self.base).netloc.rsplit("@", 1)[-1].lower()
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=(500, 502, 503, 504),
            # Every call made here is idempotent (reads, setting a tag or an alias to a value).
            allowed_methods=frozenset({"GET", "POST", "DELETE"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    # --- plumbing ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = f"{self.base}{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise MlflowUnreachable(
                f"no answer from {display_uri(self.base)} ({type(error).__name__})"
            ) from error
        if response.status_code >= 500:
            raise MlflowUnreachable(
                f"{display_uri(self.base)} answered {response.status_code} to {method} {path}"
            )
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            message = body.get("message") or response.text[:300]
            raise MlflowError(
                f"MLflow refused {method} {path.split('?')[0]}: {message}",
                status=response.status_code,
                code=body.get("error_code", ""),
            )
        return response

    def _json(self, method: str, endpoint: str, **kwargs) -> dict[str, Any]:
        response = self._request(method, f"{API}/{endpoint}", **kwargs)
        try:
            return response.json() if response.content else {}
        except ValueError as error:
            raise MlflowUnreachable(
                f"{display_uri(self.base)} answered {endpoint} with something that is not JSON: "
                "is this an MLflow tracking server?"
            ) from error

    def _pages(self, endpoint: str, key: str, params: dict[str, Any]) -> Iterator[dict]:
        token = ""
        while True:
            page = self._json(
                "GET",
                endpoint,
                params={
                    **params,
                    "max_results": PAGE_SIZE,
                    **({"page_token": token} if token else {}),
                },
            )
            yield from page.get(key, [])
            token = page.get("next_page_token", "")
            if not token:
                return

    # --- the registry ----------------------------------------------------------------------

    def registered_models(self) -> list[dict[str, Any]]:
        return list(self._pages("registered-models/search", "registered_models", {}))

    def registered_model(self, name: str) -> dict[str, Any]:
        """The model with its tags and aliases ([{"alias", "version"}])."""
        return self._json("GET", "registered-models/get", params={"name": name})["registered_model"]

    def model_versions(self, name: str) -> list[dict[str, Any]]:
        quoted = "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return list(
            self._pages("model-versions/search", "model_versions", {"filter": f"name = {quoted}"})
        )

    def download_uri(self, name: str, version: str) -> str:
        answer = self._json(
            "GET", "model-versions/get-download-uri", params={"name": name, "version": version}
        )
        return answer.get("artifact_uri", "")

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._json(
            "POST",
            "registered-models/alias",
            json={"name": name, "alias": alias, "version": version},
        )

    def delete_alias(self, name: str, alias: str) -> None:
        self._json("DELETE", "registered-models/alias", json={"name": name, "alias": alias})

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._json(
            "POST",
            "model-versions/set-tag",
            json={"name": name, "version": version, "key": key, "value": value},
        )

    # --- artifacts through the server's proxy ---------------------------------------------------

    def proxied_path(self, artifact_uri: str) -> str | None:
        """The path under the server's artifact proxy of an artifact URI it serves
        (`mlflow-artifacts:/...`, or its own `http(s)://.../api/2.0/mlflow-artifacts/artifacts/...`),
        else None (a store the registry cannot read through the tracking server)."""
        parts = urlsplit(artifact_uri)
        if parts.scheme == "mlflow-artifacts":
            if parts.netloc and parts.netloc.lower() != self.netloc:
                return None  # another server's proxy
            path = parts.path
        elif parts.scheme in ("http", "https") and f"{ARTIFACTS}/" in parts.path:
            if parts.netloc.rsplit("@", 1)[-1].lower() != self.netloc:
                return None
            path = parts.path.split(f"{ARTIFACTS}/", 1)[1]
        else:
            return None
        segments = [segment for segment in path.split("/") if segment]
        if not segments or any(segment in (".", "..") for segment in segments):
            return None
        return "/".join(segments)

    def list_files(self, path: str) -> list[RemoteFile]:
        """Every file under `path` (recursively), relative to it."""
        found: list[RemoteFile] = []

        def walk(relative: str, depth: int) -> None:
            listing = self._request(
                "GET",
                ARTIFACTS,
                params={"path": posixpath.join(path, relative) if relative else path},
            ).json()
            for entry in listing.get("files", []):
                name = posixpath.join(relative, entry["path"]) if relative else entry["path"]
                if entry.get("is_dir"):
                    if depth >= MAX_DEPTH:
                        raise MlflowError(
                            f"{path} is nested deeper than {MAX_DEPTH} directories", status=400
                        )
                    walk(name, depth + 1)
                else:
                    size = entry.get("file_size")
                    found.append(RemoteFile(name, int(size) if size is not None else None))
                if len(found) > MAX_FILES:
                    raise MlflowError(f"{path} holds more than {MAX_FILES} files", status=400)

        walk("", 0)
        return sorted(found, key=lambda remote: remote.path)

    def download(self, path: str, destination: str, *, max_bytes: int) -> Downloaded:
        """Stream the file at `path` (under the proxy) to `destination`, hashing it on the way;
        MlflowError past `max_bytes`."""
        url_path = f"{ARTIFACTS}/{quote(path)}"
        hasher, size = hashlib.sha256(), 0
        with (
            self._request("GET", url_path, stream=True) as response,
            open(destination, "wb") as out,
        ):
            try:
                for chunk in response.iter_content(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise MlflowError(
                            f"{path} is over the limit of {max_bytes} bytes (ARTIFACT_MAX_BYTES)",
                            status=413,
                        )
                    hasher.update(chunk)
                    out.write(chunk)
            except requests.RequestException as error:
                raise MlflowUnreachable(
                    f"the download of {path} from {display_uri(self.base)} broke off "
                    f"({type(error).__name__})"
                ) from error
        return Downloaded(destination, size, hasher.hexdigest())
