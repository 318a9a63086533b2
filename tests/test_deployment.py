"""deployments/daemonset-install.yaml: valid, least privilege, and in step
with the installer image and its entrypoint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from runner import ROOT

MANIFEST = ROOT / "deployments" / "daemonset-install.yaml"


def daemonset() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def container() -> dict:
    (only,) = daemonset()["spec"]["template"]["spec"]["containers"]
    return only


def test_validates_against_the_kubernetes_schemas_offline() -> None:
    validate = str(Path(sys.executable).with_name("kubernetes-validate"))
    for version in ("1.28.0", "1.37.0"):
        done = subprocess.run([validate, "--strict", "-k", version, str(MANIFEST)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_reaches_every_node_and_updates_rolling() -> None:
    spec = daemonset()["spec"]
    pod = spec["template"]["spec"]
    assert spec["updateStrategy"]["type"] == "RollingUpdate"
    assert {"operator": "Exists"} in pod["tolerations"]
    assert "nodeSelector" not in pod and "affinity" not in pod  # no amd64-only (or any) selector
    resources = container()["resources"]
    assert resources["requests"] and resources["limits"]


def test_runs_with_least_privilege() -> None:
    pod = daemonset()["spec"]["template"]["spec"]
    security = container()["securityContext"]
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    assert security["privileged"] is False and security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}  # writing root's /opt/cni/bin as root needs none
    assert security["runAsUser"] == 0
    (mount,) = container()["volumeMounts"]  # the CNI bin dir only: no host /usr to read any more
    assert mount["name"] == "cni-bin" and not mount.get("readOnly")


def installer_options() -> set[str]:
    return set(re.findall(r"^\s+(--[a-z-]+)\)", (ROOT / "installer" / "install.sh").read_text(), re.M))


def settings() -> dict[str, str]:
    return {variable["name"]: variable["value"] for variable in container().get("env", [])}


def test_image_paths_and_flags_match_the_installer() -> None:
    import ro

    spec = container()
    args = spec["args"]
    flags = dict(zip(args[::2], args[1::2]))
    assert set(flags) <= installer_options() and flags["--mode"] == "daemon"
    variables = set(re.findall(r"\$\{(RO_[A-Z_]+):-", (ROOT / "installer" / "install.sh").read_text()))
    assert set(settings()) <= variables
    volumes = {v["name"]: v for v in daemonset()["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in spec["volumeMounts"]}
    assert mounts["cni-bin"] == settings()["RO_DEST_DIR"]
    assert volumes["cni-bin"]["hostPath"]["path"] == settings()["RO_HOST_DEST_DIR"] == "/opt/cni/bin"
    dockerfile = (ROOT / "Dockerfile.installer").read_text()
    assert "COPY dist/route-override dist/route-override.version /" in dockerfile
    assert "COPY .cache/runtime/${TARGETARCH}/ /runtime/" in dockerfile
    assert 'ENTRYPOINT ["/bin/sh", "/install.sh"]' in dockerfile and "COPY installer/install.sh /install.sh" in dockerfile
    # The probe runs the entrypoint's own check, with the container's settings (env), changing nothing.
    assert spec["readinessProbe"]["exec"]["command"] == ["/bin/sh", "/install.sh", "--mode", "check"]
    name, tag = spec["image"].rsplit(":", 1)
    assert name.endswith("/route-override-installer") and tag == ro.__version__
    assert daemonset()["metadata"]["labels"]["app.kubernetes.io/version"] == ro.__version__
