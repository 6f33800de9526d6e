"""A small Python client of the controller's API (what the CLI uses).

from adaptsched.client import Client
client = Client.connect()                    # finds the controller via the state directory
job = client.submit(["train.py", "--epochs", "3"], metric="speed")
client.job(job["id"])["state"]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from adaptsched.cluster.process import ControllerInfo, default_state_dir
from adaptsched.cluster.token import read_token


class ClientError(ValueError):
    """The controller refused a request or cannot be reached; the message says why."""


class Client:
    def __init__(self, url: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s)

    @classmethod
    def connect(cls, state_dir: Path | str | None = None) -> Client:
        """The controller running for ``state_dir`` (default: ``$ADAPTSCHED_STATE_DIR`` or the
        per-user default)."""
        folder = Path(state_dir) if state_dir is not None else default_state_dir()
        info = ControllerInfo.read(folder)
        if info is None:
            raise ClientError(f"no controller runs for {folder}; start one with `adaptsched up`")
        return cls(info.url, read_token(folder) or os.environ.get("ADAPTSCHED_TOKEN"))

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the controller at {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            if isinstance(detail, list):  # a validation error: name the field
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}"
                    for d in detail
                )
            raise ClientError(f"{detail} (HTTP {response.status_code})")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def submit(
        self,
        command: list[str],
        *,
        name: str | None = None,
        metric: str = "goodput",
        min_replicas: int = 0,
        max_replicas: int = 64,
        max_failures: int = 3,
        preemptible: bool = True,
        cwd: str | None = None,
    ) -> dict[str, Any]:
        """Submit ``command`` (a script and its arguments); returns the job."""
        body = {
            "command": command,
            "cwd": cwd or os.getcwd(),
            "name": name,
            "metric": metric,
            "min_replicas": min_replicas,
            "max_replicas": max_replicas,
            "max_failures": max_failures,
            "preemptible": preemptible,
        }
        return self._call("POST", "/jobs", json=body)

    def jobs(self) -> list[dict[str, Any]]:
        return self._call("GET", "/jobs")

    def job(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/jobs/{job_id}")

    def logs(
        self, job_id: str, rank: int = 0, generation: int | None = None, offset: int = 0
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"rank": rank, "offset": offset}
        if generation is not None:
            params["generation"] = generation
        return self._call("GET", f"/jobs/{job_id}/logs", params=params)

    def nodes(self) -> list[dict[str, Any]]:
        return self._call("GET", "/nodes")

    def remove_node(self, node_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/nodes/{node_id}")

    def cluster(self) -> dict[str, Any]:
        return self._call("GET", "/cluster")
