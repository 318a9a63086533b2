#!/usr/bin/env bash
# The README's demo: a throwaway namespace plays the container, `ip` plays
# the interface plugin (macvlan + static IPAM of examples/vpn-net.conflist),
# then route-override runs ADD, CHECK and DEL from that conflist, printing
# the routes before and after. Everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

plugin=${RO_PLUGIN:-dist/route-override}
[ -x "$plugin" ] || { echo "demo: $plugin is not built; run 'make setup' first" >&2; exit 1; }
conflist=examples/vpn-net.conflist
ns=ro-demo-$$
peer=ro-demo-$$-peer
export PATH=/usr/bin:/bin:/usr/sbin:/sbin

cleanup() { ip netns del "$ns" 2>/dev/null || true; ip netns del "$peer" 2>/dev/null || true; }
trap cleanup EXIT

echo "== the interface plugin's work: net1 in namespace $ns"
ip netns add "$ns"
ip netns add "$peer"
ip link add net1 netns "$ns" type veth peer name uplink netns "$peer"
ip -n "$peer" link set uplink up
ip -n "$ns" link set net1 up
ip -n "$ns" addr add 192.168.50.2/24 dev net1
ip -n "$ns" route add default via 192.168.50.1 dev net1
ip -n "$ns" route add 10.10.0.0/16 via 192.168.50.1 dev net1
ip -n "$ns" route

# What libcni hands the plugin: its entry of the conflist, with the list's
# name and cniVersion, and the interface plugin's result as prevResult.
config=$(python3 - "$conflist" "/run/netns/$ns" <<'PY'
import json, sys
conflist = json.load(open(sys.argv[1]))
entry = next(p for p in conflist["plugins"] if p["type"] == "route-override")
prev = {
    "cniVersion": conflist["cniVersion"],
    "interfaces": [{"name": "net1", "sandbox": sys.argv[2]}],
    "ips": [{"interface": 0, "address": "192.168.50.2/24", "gateway": "192.168.50.1"}],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.10.0.0/16"}],
}
print(json.dumps({"cniVersion": conflist["cniVersion"], "name": conflist["name"], **entry, "prevResult": prev}))
PY
)
cni() { env CNI_COMMAND="$1" CNI_CONTAINERID=demo CNI_NETNS="/run/netns/$ns" CNI_IFNAME=net1 CNI_PATH=/opt/cni/bin "$plugin"; }

echo
echo "== route-override ADD (flushgateway, delroutes 10.10.0.0/16, addroutes 10.20.0.0/16 and 172.16.0.0/12)"
result=$(cni ADD <<<"$config")
echo "result: $result"
ip -n "$ns" route

with_result=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$config" "$result")
echo
echo "== CHECK right after ADD"
cni CHECK <<<"$with_result" && echo "CHECK passed"
echo
echo "== someone puts the default route back; CHECK notices"
ip -n "$ns" route add default via 192.168.50.1 dev net1
cni CHECK <<<"$with_result" || echo "CHECK failed, as it should (exit $?)"
echo
echo "== DEL removes the routes route-override added"
cni DEL <<<"$with_result" && ip -n "$ns" route
echo
echo "demo done; namespaces $ns and $peer are removed on exit"
