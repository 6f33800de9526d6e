"""`adaptsched export-profile JOB --out DIR`: a simulator profile from a job the runtime ran
(its measured step times and gradient statistics), to simulate one's own workload."""

from __future__ import annotations

import argparse
from pathlib import Path

from adaptsched.cli.args import output_dir
from adaptsched.cli.remote import add_state_dir
from adaptsched.cluster.process import default_state_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("job", help="the job's id (adaptsched jobs)")
    parser.add_argument(
        "--out", type=Path, required=True, help="profile folder to write (its name is the app's)"
    )


def run(args: argparse.Namespace) -> int:
    from adaptsched.cluster.profile_export import export_profile
    from adaptsched.cluster.store import StateStore

    state_dir = (args.state_dir or default_state_dir()).expanduser()
    path = state_dir / "state.db"
    if not path.is_file():
        raise ValueError(f"--state-dir {state_dir}: no state store (state.db) there")
    output_dir(args.out, "--out")
    store = StateStore(path)
    try:
        if not any(r.job_id == args.job for r in store.load_jobs()):
            raise ValueError(f"job {args.job!r}: not in {path}")
        meta = export_profile(store, args.job, args.out)
    finally:
        store.close()
    print(
        f"wrote {args.out}: {meta['epochs']} epochs of gradient statistics, M0 "
        f"{meta['init_batch']}; simulate with: adaptsched sim WORKLOAD.csv --traces "
        f"{args.out.parent} (application {args.out.name})"
    )
    return 0
