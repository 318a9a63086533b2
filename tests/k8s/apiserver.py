"""A real kube-apiserver (k8s.io/kubernetes v1.37.2, built by build/k8s) on
etcd (go.etcd.io/etcd/server v3.7.3, linked into the same binary), both in a
network namespace of their own: fixed ports that never collide with anything
on the host, and nothing listening outside it. kubectl (the same binary)
talks to it from inside that namespace, with a static token.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from builds import built
from daemons import CLEAN_PATH, running
from netns import Namespace, ip

ADDRESS = "192.0.2.10"  # the apiserver's advertised address: a link in its namespace (an endpoint must not be loopback)
TOKEN = "ro-k8s-admin-token"


class Kubectl:
    def __init__(self, namespace: Namespace, work: Path) -> None:
        self.namespace, self.work = namespace, work
        self.kubeconfig = work / "kubeconfig"
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1", "kind": "Config", "current-context": "ro",
                    "clusters": [{"name": "ro", "cluster": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True}}],
                    "users": [{"name": "admin", "user": {"token": TOKEN}}],
                    "contexts": [{"name": "ro", "context": {"cluster": "ro", "user": "admin"}}],
                }
            )
        )  # fmt: skip

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        command = ["nsenter", f"--net={self.namespace.path}", str(built("kubectl")), "--kubeconfig", str(self.kubeconfig), *args]
        env = {"PATH": CLEAN_PATH, "HOME": str(self.work)}  # kubectl's discovery cache goes under HOME
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, env=env)

    def ok(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        done = self.run(*args, stdin=stdin, timeout=timeout)
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout

    def get(self, *args: str) -> dict:
        return json.loads(self.ok("get", *args, "-o", "json"))

    def ready(self) -> bool:
        return self.run("get", "--raw", "/readyz", timeout=10).returncode == 0


def _etcd(work: Path) -> list[str]:
    return [
        str(built("etcd")), "--name", "ro", "--data-dir", str(work / "etcd"),
        "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
        "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", "ro=http://127.0.0.1:2380", "--listen-metrics-urls", "http://127.0.0.1:2381",
    ]  # fmt: skip


def _apiserver(work: Path) -> list[str]:
    key = work / "service-account.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    (work / "tokens.csv").write_text(f'{TOKEN},admin,admin,"system:masters"\n')
    return [
        str(built("kube-apiserver")), "--etcd-servers", "http://127.0.0.1:2379",
        "--bind-address", "0.0.0.0", "--secure-port", "6443", "--advertise-address", ADDRESS,
        "--cert-dir", str(work / "certs"), "--token-auth-file", str(work / "tokens.csv"),
        "--authorization-mode", "RBAC", "--service-cluster-ip-range", "10.96.0.0/16",
        "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", str(key),
        "--service-account-signing-key-file", str(key), "--api-audiences", "https://kubernetes.default.svc",
        "--enable-priority-and-fairness=false",
    ]  # fmt: skip


@contextmanager
def apiserver(namespace: Namespace | None = None) -> Iterator[Kubectl]:
    """etcd and kube-apiserver running and ready in `namespace` (else in one of
    their own); both stopped, their data and namespace removed, after."""
    with tempfile.TemporaryDirectory(prefix="ro-k8s-api-") as name:
        work = Path(name)
        own = namespace is None
        inside = namespace or Namespace("api")
        try:
            # a veth pair (this kernel has no dummy links), both ends in the namespace
            ip("link", "add", "ro-api0", "type", "veth", "peer", "name", "ro-api1", ns=inside.name)
            ip("addr", "add", f"{ADDRESS}/24", "dev", "ro-api0", ns=inside.name)
            ip("link", "set", "ro-api1", "up", ns=inside.name)
            ip("link", "set", "ro-api0", "up", ns=inside.name)
            ip("route", "add", "default", "dev", "ro-api0", ns=inside.name)
            enter = ["nsenter", f"--net={inside.path}"]
            kubectl = Kubectl(inside, work)
            with running("etcd", [*enter, *_etcd(work)], work / "etcd.log") as etcd:
                health = [*enter, "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:2379/health"]
                etcd.wait_ready(lambda: subprocess.run(health, capture_output=True).returncode == 0, timeout=60)
                with running("kube-apiserver", [*enter, *_apiserver(work)], work / "apiserver.log") as server:
                    server.wait_ready(kubectl.ready, timeout=180)
                    yield kubectl
        finally:
            if own:
                inside.delete()
            else:
                subprocess.run(["ip", "-n", inside.name, "link", "del", "ro-api0"], capture_output=True)
