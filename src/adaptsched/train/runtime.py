"""What a job learns from the runtime's environment (``adaptsched.runtime_env``): its identity,
checkpoint directory, metric and where to send hints. A script started by hand or by torchrun
has none of it and runs as before; under adaptsched the same script needs no extra argument."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from adaptsched import runtime_env as renv
from adaptsched.models import GOODPUT, Metric, get_metric
from adaptsched.models.hints import Hints
from adaptsched.train.hints import HintSink, NullSink

log = logging.getLogger(__name__)

#: Seconds a hint PUT may take before the job gives up on it (it trains on regardless).
HINT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RuntimeContext:
    job_id: str | None = None
    generation: int = 0
    job_dir: str | None = None
    checkpoint_dir: str | None = None
    metric: str | None = None
    hints_url: str | None = None
    token: str | None = None

    @classmethod
    def from_env(cls) -> RuntimeContext:
        env = os.environ
        return cls(
            job_id=env.get(renv.JOB_ID),
            generation=int(env.get(renv.GENERATION, "0") or 0),
            job_dir=env.get(renv.JOB_DIR),
            checkpoint_dir=env.get(renv.CHECKPOINT_DIR),
            metric=env.get(renv.METRIC),
            hints_url=env.get(renv.HINTS_URL),
            token=env.get(renv.TOKEN),
        )


class HttpSink:
    """PUTs hints to the controller (``PUT /jobs/{id}/hints``), tagged with the generation so
    that the controller knows the new generation trains; failures are logged, never raised."""

    def __init__(self, url: str, generation: int, token: str | None = None) -> None:
        self.url, self.generation, self.token = url, generation, token
        self._warned = False

    def publish(self, hints: Hints) -> None:
        body = json.dumps(hints.to_json()).encode()
        request = urllib.request.Request(self.url, data=body, method="PUT")
        request.add_header("Content-Type", "application/json")
        request.add_header("X-Adaptsched-Generation", str(self.generation))
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=HINT_TIMEOUT_S) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            if not self._warned:
                log.warning("could not send hints to %s: %s", self.url, exc)
                self._warned = True


def resolve_defaults(
    metric: Metric | str | None, checkpoint_dir: str | None, hint_sink: HintSink | None
) -> tuple[Metric, str | None, HintSink]:
    """The trainer's metric, checkpoint directory and hint sink: what the script passed, else
    what the runtime's environment says, else the standalone defaults."""
    context = RuntimeContext.from_env()
    chosen = metric if metric is not None else context.metric
    if chosen is None:
        resolved: Metric = GOODPUT
    elif isinstance(chosen, str):
        resolved = get_metric(chosen)
    else:
        resolved = chosen
    if hint_sink is None and context.hints_url:
        hint_sink = HttpSink(context.hints_url, context.generation, context.token)
    return resolved, checkpoint_dir or context.checkpoint_dir, hint_sink or NullSink()
