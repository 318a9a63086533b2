"""Node roots: directories that stand for node OSes, for the installer image
and a static CNI client to run in (tests/platforms/test_node_roots.py).

- busybox: a static busybox and nothing else: no libc, no python3
  (Flatcar, Fedora CoreOS: simulated);
- no-bin: no /bin, no /usr at all: no shell, no interpreter (Talos,
  Bottlerocket: simulated);
- old-python: busybox and a python3 that is too old, a stand-in that
  records being called (RHEL 8, Amazon Linux 2, Ubuntu 20.04: simulated;
  tests/platforms/test_old_pythons.py runs the real old CPythons);
- debian11, debian12: Debian bullseye and bookworm, python3 and dash.

Every root gets what a node has for CNI: /opt/cni/bin with the static
reference plugins (macvlan, static) and /etc/cni/net.d; the static cnitool
sits at /cnitool. `Root.run` enters it (chroot in a private mount namespace
with /proc, /dev and /run/netns bound in, inside a network namespace).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from debian import unpack
from runner import ROOT

GO = "/usr/local/go/bin/go"  # 1.26.8 or newer: the plugins' go.mod
KINDS = ("busybox", "no-bin", "old-python", "debian11", "debian12")
SIMULATES = {
    "busybox": "Flatcar, Fedora CoreOS (simulated)",
    "no-bin": "Talos, Bottlerocket (simulated)",
    "old-python": "RHEL 8, Amazon Linux 2, Ubuntu 20.04 (simulated)",
    "debian11": "Debian 11",
    "debian12": "Debian 12",
}
OLD_PYTHON3 = '#!/bin/sh\necho "$@" >>/python3-was-called\necho "Python 3.6.8"\nexit 1\n'
DAEMONSET = ROOT / "deployments" / "daemonset-install.yaml"
# Found here: the commands below run with the PATH of the root, where there may be none.
IP, MOUNT, CHROOT = (shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin") for tool in ("ip", "mount", "chroot"))
# A private mount namespace ($0 is the root): what a CNI client needs of the host, then chroot.
ENTER = (
    f'{MOUNT} --rbind /proc "$0/proc" && {MOUNT} --rbind /dev "$0/dev" && {MOUNT} --rbind /run/netns "$0/run/netns" && '
    f'exec {CHROOT} "$0" "$@"'
)


def static_tools(out: Path) -> Path:
    """cnitool (Debian's libcni, GOPATH mode) and the reference macvlan and
    static plugins (go.mod/go.sum pinned), all CGO_ENABLED=0: static, so
    they run in a root with no libc. Go's build cache keeps them between runs."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "PATH": f"/usr/local/go/bin:{os.environ['PATH']}"}
    subprocess.run(
        [GO, "build", "-trimpath", "-o", str(out / "cnitool"), "main.go"],
        cwd=ROOT / "tests" / "e2e" / "cnitool", env={**env, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode"},
        check=True, capture_output=True,
    )  # fmt: skip
    plugins = [
        "github.com/containernetworking/plugins/plugins/main/macvlan",
        "github.com/containernetworking/plugins/plugins/ipam/static",
    ]
    subprocess.run(
        [GO, "build", "-trimpath", "-o", str(out) + "/", *plugins],
        cwd=ROOT / "tests" / "platforms" / "staticcni", env={**env, "GOFLAGS": "-mod=readonly"}, check=True, capture_output=True,
    )  # fmt: skip
    for tool in ("cnitool", "macvlan", "static"):  # static: no program interpreter (dynamic loader) to find
        interpreter = subprocess.run(["patchelf", "--print-interpreter", str(out / tool)], capture_output=True, text=True)
        assert interpreter.returncode != 0, f"{tool} is linked dynamically, against {interpreter.stdout}"
    return out


def busybox_into(root: Path) -> None:
    busybox = shutil.which("busybox", path="/usr/bin:/bin")
    (root / "bin").mkdir(parents=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    for applet in subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split():
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")


@dataclass
class Root:
    kind: str
    path: Path

    def host(self, inside: str) -> Path:
        return self.path / inside.lstrip("/")

    def command(self, netns: str, *argv: str) -> list[str]:
        """`argv` run chrooted in this root, inside network namespace `netns`."""
        enter = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", ENTER, str(self.path)]
        return [IP, "netns", "exec", netns, *enter, *argv]


def make_root(kind: str, path: Path, tools: Path) -> Root:
    if kind in ("debian11", "debian12"):
        unpack(
            "bullseye" if kind == "debian11" else "bookworm",
            "amd64" if os.uname().machine == "x86_64" else "arm64",
            ["python3", "dash"],
            path,
        )
    elif kind == "no-bin":
        path.mkdir(parents=True)
    else:
        busybox_into(path)
        if kind == "old-python":
            (path / "usr" / "bin").mkdir(parents=True)
            (path / "usr" / "bin" / "python3").write_text(OLD_PYTHON3)
            (path / "usr" / "bin" / "python3").chmod(0o755)
    for inside in ("opt/cni/bin", "etc/cni/net.d", "proc", "dev", "run/netns", "var/lib/cni", "tmp"):
        (path / inside).mkdir(parents=True, exist_ok=True)
    for tool in ("macvlan", "static"):
        shutil.copy(tools / tool, path / "opt" / "cni" / "bin" / tool)
    shutil.copy(tools / "cnitool", path / "cnitool")
    return Root(kind, path)


def pod_template() -> tuple[dict, list[dict]]:
    """The DaemonSet's only container and its pod's volumes."""
    spec = yaml.safe_load(DAEMONSET.read_text())["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    return container, spec["volumes"]


def installer_run(storage: list[str], image: str, root: Root, mode: str) -> list[str]:
    """podman running `image` as the DaemonSet's pod template says (its
    securityContext, env and hostPath volumes, each path inside `root`), in
    `mode` (the template's daemon mode stays alive; init installs and exits)."""
    container, volumes = pod_template()
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["capabilities"] == {"drop": ["ALL"]}
    assert security["allowPrivilegeEscalation"] is False and security["runAsUser"] == 0
    paths = {volume["name"]: volume["hostPath"]["path"] for volume in volumes}
    mounts = []
    for mount in container["volumeMounts"]:
        mounts += ["-v", f"{root.host(paths[mount['name']])}:{mount['mountPath']}{':ro' if mount.get('readOnly') else ''}"]
    env = [f"--env={variable['name']}={variable['value']}" for variable in container.get("env", [])]
    args = list(container["args"])
    args[args.index("--mode") + 1] = mode
    return [
        "podman", *storage, "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",  # this machine's limits cannot be raised
        "--user", "0:0", *mounts, *env, image, *args,
    ]  # fmt: skip


def readiness_probe(storage: list[str], image: str, root: Root) -> list[str]:
    """The template's readiness probe, run in a container like the pod's."""
    container, _ = pod_template()
    command = container["readinessProbe"]["exec"]["command"]
    run = installer_run(storage, image, root, "init")
    at = run.index(image)
    return [*run[:at], "--entrypoint", command[0], image, *command[1:]]
