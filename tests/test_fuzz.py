"""Hostile and broken input, property-tested with hypothesis.

In process (thousands of examples a minute): random and mutated configs,
results of every version, environments and raw stdin, against namespace
paths that are never namespaces. Invariants: exactly one JSON document on
stdout or none, an exit code that agrees with it, a known error code, and
never code 999 (a 999 is a bug found).

Against real namespaces: tests/test_properties.py.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ro import cni
from ro.__main__ import plugin_commands

VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
KNOWN_CODES = {1, 4, 5, 6, 7, 11, 50, 100, 101, 102, 103, 104}
HERE = Path(__file__).resolve().parent

# ---- strategies -----------------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
v4_net = st.builds(lambda a, b, n: str(__import__("ipaddress").ip_network(f"10.{a}.{b}.0/{n}", strict=False)), st.integers(0, 255), st.integers(0, 255), st.integers(0, 32))
v6_net = st.builds(lambda a, n: str(__import__("ipaddress").ip_network(f"2001:db8:{a:x}::/{n}", strict=False)), st.integers(0, 0xFFFF), st.integers(0, 128))
v4_gw = st.sampled_from(["192.168.50.1", "192.168.50.254", "10.99.0.1"])
v6_gw = st.sampled_from(["2001:db8:50::1", "2001:db8:99::1"])
EXTRAS = {"mtu": st.integers(68, 9000), "advmss": st.integers(0, 9000), "priority": st.integers(0, 2**32 - 1), "table": st.integers(1, 2**32 - 1), "scope": st.sampled_from([0, 253])}


def valid_route(version: str, extras: bool = True) -> st.SearchStrategy:
    optional = EXTRAS if extras and version == "1.1.0" else {}
    v4 = st.fixed_dictionaries({"dst": v4_net}, optional={"gw": v4_gw, **optional})
    v6 = st.fixed_dictionaries({"dst": v6_net}, optional={"gw": v6_gw, **optional})
    return (v4 | v6).filter(lambda route: not ("gw" in route and route.get("scope") == 253))  # link scope: no gateway


def valid_prev_result(version: str) -> st.SearchStrategy:
    if version in ("0.1.0", "0.2.0"):
        section4 = st.fixed_dictionaries({"ip": st.just("192.168.50.2/24")}, optional={"gateway": v4_gw, "routes": st.lists(valid_route(version).filter(lambda r: ":" not in r["dst"]), max_size=3)})
        return st.fixed_dictionaries({"cniVersion": st.just(version)}, optional={"ip4": section4, "dns": st.just({"nameservers": ["192.168.50.1"]})})
    ip = {"address": st.sampled_from(["192.168.50.2/24", "2001:db8:50::2/64"])}
    versioned = {"version": st.just("4")} if version in ("0.3.0", "0.3.1", "0.4.0") else {}
    ips = st.lists(st.fixed_dictionaries({**ip, **versioned}, optional={"interface": st.just(0)}).map(
        lambda entry: {**entry, "version": "6"} if "version" in entry and ":" in entry["address"] else entry
    ), max_size=2)
    return st.fixed_dictionaries(
        {"cniVersion": st.just(version), "interfaces": st.just([{"name": "net1", "sandbox": "/run/netns/x"}])},
        optional={"ips": ips, "routes": st.lists(valid_route(version, extras=False), max_size=3)},
    )


def same_kernel_route(route: dict) -> tuple:
    """Two addroutes entries of one kernel route are a config error (code 7)."""
    v6 = ":" in route["dst"]
    return route["dst"], route.get("table"), route.get("priority") or (1024 if v6 else 0)


@st.composite
def valid_config(draw: st.DrawFn) -> dict:
    version = draw(st.sampled_from(VERSIONS))
    routes = st.lists(valid_route(version), max_size=4, unique_by=same_kernel_route)
    delroutes = st.lists(valid_route(version, extras=False), max_size=3, unique_by=lambda r: json.dumps(r, sort_keys=True))
    flags = {key: st.booleans() for key in ("flushroutes", "flushgateway", "skipcheck")}
    overridable = {**flags, "addroutes": routes, "delroutes": delroutes}
    config = draw(st.fixed_dictionaries(
        {"cniVersion": st.just(version), "name": st.just("net"), "type": st.just("route-override")},
        optional={**overridable, "prevResult": valid_prev_result(version), "logLevel": st.sampled_from(["error", "info", "debug"]),
                  "args": st.fixed_dictionaries({}, optional={"cni": st.fixed_dictionaries({}, optional=overridable), "k8s": json_value})},
    ))
    return config


@st.composite
def mutated_config(draw: st.DrawFn) -> dict:
    """A valid config with one value somewhere replaced by junk, or removed."""
    config = draw(valid_config())
    node, key = config, None
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], (dict, list)) or not node[key] or draw(st.booleans()):
            break
        node = node[key]
    if key is not None:
        if isinstance(node, dict) and draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(json_value)
    return config


to_bytes = lambda document: json.dumps(document).encode()  # noqa: E731
stdin = (
    valid_config().map(to_bytes)
    | mutated_config().map(to_bytes)
    | mutated_config().flatmap(lambda c: st.integers(0, len(to_bytes(c))).map(lambda cut: to_bytes(c)[:cut]))
    | st.binary(max_size=200)
    | st.sampled_from([b"", b"\xff\xfe", b"[" * 20_000, b'{"cniVersion": "1.0.0"' + b" " * 1000])
)
# Never a real namespace: paths that do not exist, files, directories, a FIFO, the host's own.
SAFE_NETNS = ["/nonexistent/ns", str(HERE / "netns.py"), str(HERE), "/proc/self/ns/net", "/dev/null", "relative", "\x00"]
valid_environment = st.fixed_dictionaries(
    {
        "CNI_COMMAND": st.sampled_from(["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"]),
        "CNI_CONTAINERID": st.sampled_from(["ctr-1", "0123456789abcdef" * 4]),
        "CNI_IFNAME": st.sampled_from(["net1", "eth0"]),
        "CNI_NETNS": st.sampled_from(SAFE_NETNS),
    },
    optional={"CNI_ARGS": st.text(max_size=20), "CNI_PATH": st.just("/opt/cni/bin")},
)
odd_environment = st.fixed_dictionaries(
    {"CNI_COMMAND": st.sampled_from(["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC", "add", "", "UPDATE"])},
    optional={
        "CNI_CONTAINERID": st.sampled_from(["ctr-1", "", "-x", "a b", "x" * 300]) | st.text(max_size=12),
        "CNI_IFNAME": st.sampled_from(["net1", "", "sixteen-bytes-xx", "a/b", ".", "é" * 8]) | st.text(max_size=18),
        "CNI_NETNS": st.sampled_from(["", *SAFE_NETNS]) | st.text(max_size=12).filter(lambda t: not t.startswith("/")),
        "CNI_ARGS": st.text(max_size=20),
    },
)
environment = valid_environment | valid_environment | odd_environment


def run_in_process(environ: dict, data: bytes) -> tuple[int, bytes]:
    stdout = io.BytesIO()
    code = cni.run(environ, io.BytesIO(data), stdout, plugin_commands)
    return code, stdout.getvalue()


def expected_code(environ: dict, config: dict) -> int:
    """The outcome of a valid config in a valid environment, whose namespace is never usable."""
    command, version = environ["CNI_COMMAND"], config["cniVersion"]
    if command == "VERSION":
        return 0
    if command in ("STATUS", "GC"):
        return 0 if version == "1.1.0" else 1
    if command == "DEL":
        return 0  # the namespace is gone, so nothing is left to remove
    settings_ = {**config, **config.get("args", {}).get("cni", {})}
    if command == "CHECK" and VERSIONS.index(version) < VERSIONS.index("0.4.0"):
        return 1
    if "prevResult" not in config:
        return 7
    if command == "CHECK" and settings_.get("skipcheck"):
        return 0
    return 101


@given(environ=environment, data=stdin)
def test_any_input_gets_one_json_document_and_a_known_code(environ: dict, data: bytes, tmp_path_factory) -> None:
    fifo = tmp_path_factory.getbasetemp() / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    if environ.get("CNI_NETNS") == "\x00":
        environ = {**environ, "CNI_NETNS": str(fifo)}
    code, out = run_in_process(environ, data)
    assert code in (0, 1)
    text = out.decode()
    document = json.loads(text) if text.strip() else None
    assert text.count("\n") <= 1
    if code == 1:
        assert set(document) == {"cniVersion", "code", "msg", "details"}
        assert document["code"] in KNOWN_CODES, document  # 999 would be a bug
        assert isinstance(document["msg"], str) and document["msg"]
    elif environ["CNI_COMMAND"] == "VERSION":
        assert document["supportedVersions"] == VERSIONS
    else:
        assert document is None or "code" not in document
    if environ["CNI_COMMAND"] not in ("ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"):
        assert code == 1 and document["code"] == 4


@given(environ=valid_environment, config=valid_config())
def test_valid_input_gets_the_right_answer(environ: dict, config: dict) -> None:
    if environ["CNI_NETNS"] == "\x00":
        environ = {**environ, "CNI_NETNS": "/nonexistent"}
    code, out = run_in_process(environ, to_bytes(config))
    expected = expected_code(environ, config)
    document = json.loads(out) if out.strip() else None
    assert (document["code"] if code else 0) == expected, document


@given(data=st.binary(max_size=300))
def test_bytes_that_are_not_a_json_object_are_code_6(data: bytes) -> None:
    try:
        is_object = isinstance(json.loads(data), dict)
    except (ValueError, RecursionError):
        is_object = False
    environ = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", "CNI_NETNS": "/nonexistent"}
    code, out = run_in_process(environ, data)
    if not is_object:
        assert code == 1 and json.loads(out)["code"] == 6


def test_a_nul_in_a_path_is_a_named_error_not_a_crash() -> None:
    """Found by the property test: CNI_NETNS "0\\x00" made os.open raise
    ValueError, which surfaced as code 999 (an environment cannot carry a
    NUL, but a prevResult interface name and a logFile can)."""
    environ = {"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", "CNI_NETNS": "0\x00"}
    assert run_in_process(environ, b'{"cniVersion": "1.0.0", "name": "n"}') == (0, b"")
    environ = {**environ, "CNI_COMMAND": "ADD"}
    code, out = run_in_process(environ, b'{"cniVersion": "1.0.0", "name": "n", "prevResult": {}}')
    assert code == 1 and json.loads(out)["code"] == 101
