#!/usr/bin/env bash
# A demo workload on one compose host: a network namespace attached to a VNI through the agent.
# Run inside a host container, e.g.
#   docker-compose exec host2 docker/demo-workload.sh                # netns wl, VNI 42, 10.42.0.2/24
#   docker-compose exec host2 docker/demo-workload.sh --vni 43 --netns db --ip 10.43.0.20/24
# Defaults: --node is this container's host name, --ip is 10.<VNI>.0.<N>/24 for a node named hostN.
# Idempotent: an existing namespace is reused and an endpoint already attached is left as it is.
set -euo pipefail

node=$(hostname)
vni=42
netns=wl
ip=""
while [ $# -gt 0 ]; do
  case "$1" in
    --node|--vni|--netns|--ip)
      [ $# -ge 2 ] || { echo "demo-workload: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo-workload: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$ip" ]; then
  n=${node##*[!0-9]}
  if [ -z "$n" ] || [ "$vni" -gt 255 ]; then
    echo "demo-workload: cannot derive an address for node $node and VNI $vni; give --ip ADDR/LEN" >&2
    exit 2
  fi
  ip=10.$vni.0.$n/24
fi

say() { echo "demo-workload[$node]: $*"; }

if ip netns list | awk '{ print $1 }' | grep -qx "$netns"; then
  say "namespace $netns exists"
else
  ip netns add "$netns"
  ip -n "$netns" link set lo up
  say "created namespace $netns"
fi

# The agent realises the VNI as br<VNI> on its own after `ctl vni create`; attaching needs the bridge.
for _ in $(seq 60); do
  ip link show "br$vni" >/dev/null 2>&1 && break
  sleep 1
done
ip link show "br$vni" >/dev/null 2>&1 || { echo "demo-workload: br$vni did not appear within 60 s: does VNI $vni exist (ctl vni list)?" >&2; exit 1; }

if out=$(ctl endpoint attach --node "$node" --vni "$vni" --netns "$netns" --ip "$ip" 2>&1); then
  say "$out"
elif grep -q 'is already attached' <<<"$out"; then
  say "already attached: ${out#*: }"
else
  echo "$out" >&2
  exit 1
fi
ip -n "$netns" -br addr show
