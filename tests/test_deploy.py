"""The KubeRay deployment: the manifests parse, and name what deploy/kuberay/README.md and the
controller rely on (in-tree autoscaling, the GPU worker group the controller asks nodes of, the
controller started on the head with --address auto, the shared volume at the state directory)."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).parents[1] / "deploy" / "kuberay"


def _docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def test_raycluster_autoscales_a_gpu_group_and_runs_the_controller_on_the_head() -> None:
    cluster, service = _docs("raycluster.yaml")
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["kind"] == "RayCluster"
    spec = cluster["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["rayVersion"] == "2.60.0"  # the version pyproject.toml pins
    group = spec["workerGroupSpecs"][0]
    assert group["groupName"] == "gpu-group"
    assert group["rayStartParams"]["num-gpus"] == "1"
    worker = group["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    head = {c["name"]: c for c in spec["headGroupSpec"]["template"]["spec"]["containers"]}
    command = " ".join(head["adaptsched-controller"]["args"])
    flags = ["adaptsched up", "--address auto", "--autoscale", "--node-type gpu-group"]
    flags += ["--gpus-per-node 1", f"--min-nodes {group['minReplicas']}"]
    flags += [f"--max-nodes {group['maxReplicas']}", "--state-dir /data/adaptsched"]
    for flag in flags:
        assert flag in command, flag
    mounts = {m["mountPath"] for m in head["adaptsched-controller"]["volumeMounts"]}
    assert "/data" in mounts and "/tmp/ray" in mounts
    assert {m["mountPath"] for m in worker["volumeMounts"]} == {"/data"}
    claim = group["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    (pvc,) = _docs("pvc.yaml")
    assert pvc["metadata"]["name"] == claim and pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert service["kind"] == "Service" and service["spec"]["ports"][0]["port"] == 8266


def test_the_readme_names_what_the_manifest_sets() -> None:
    text = (DEPLOY / "README.md").read_text()
    for needle in ("enableInTreeAutoscaling", "gpu-group", "adaptsched-api", "/data/adaptsched"):
        assert needle in text
