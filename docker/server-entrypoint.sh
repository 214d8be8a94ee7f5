#!/usr/bin/env bash
# The demo's server container: the server, then what the hosts need to enrol, on the volume they share
# (/shared): a join token for the demo's hosts, and a copy of the operator credential so that `ctl`
# works in every container. A demo shortcut: in a real cluster the operator credential stays with the
# operators, and each host gets its token out of band.
#   docker/server-entrypoint.sh SERVER_FLAGS...     (the flags must include --data-dir $VXGOSSIP_DATA)
# Environment: VXGOSSIP_DATA (default /data), VXGOSSIP_SHARED (default /shared), VXGOSSIP_DEMO_HOSTS
# (how many hosts the token enrols, default 3).
#
# Replicas (the compose file's ha profile): every replica needs the same CA, configuration signer and
# gossip key, which stay in each replica's --data-dir until they move to etcd (docs/etcd-store.md).
# Until then, VXGOSSIP_PKI_SHARE names a directory only the replicas mount: the first replica copies
# its keys there once it serves, and one started with VXGOSSIP_REPLICA=1 waits for them, starts from
# a copy (at its first start only) and leaves tokens and the hosts' shared volume to the first.
set -euo pipefail
data=${VXGOSSIP_DATA:-/data}
shared=${VXGOSSIP_SHARED:-/shared}
hosts=${VXGOSSIP_DEMO_HOSTS:-3}
pki_share=${VXGOSSIP_PKI_SHARE:-}
say() { echo "server-entrypoint: $*" >&2; }
# What a replica must share with the others; its own TLS certificate it issues itself at each start.
cluster_keys=(ca.crt ca.key signer.crt signer.key gossip-keyring.json)

if [ "${VXGOSSIP_REPLICA:-0}" = 1 ]; then
  [ -n "$pki_share" ] || { say "VXGOSSIP_REPLICA=1 needs VXGOSSIP_PKI_SHARE: where the first replica leaves the cluster's keys"; exit 2; }
  if [ ! -f "$data/pki/ca.key" ]; then
    for _ in $(seq 120); do [ -f "$pki_share/complete" ] && break; sleep 1; done
    [ -f "$pki_share/complete" ] || { say "no cluster keys in $pki_share after 120 s: is the first replica up?"; exit 1; }
    install -d -m 0700 "$data/pki"
    for f in "${cluster_keys[@]}"; do install -m 0600 "$pki_share/$f" "$data/pki/$f"; done
    say "starting from the first replica's cluster keys ($pki_share)"
  fi
  exec server "$@"
fi

server "$@" &
pid=$!
# As PID 1 the shell must pass docker stop's SIGTERM on: the server then shuts down cleanly.
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT

# The server writes the operator credential at start and serves soon after; a token is made once it does.
token=""
for _ in $(seq 60); do
  token=$(ctl --server 127.0.0.1:50051 --credentials "$data/operator" token create --uses "$hosts" --ttl 24h 2>/dev/null) && break
  token=""
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if [ -z "$token" ]; then
  say "no join token: the server did not answer ctl token create within 60 s"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || true
  exit 1
fi
mkdir -p "$shared/operator"
cp "$data/operator/ca.crt" "$data/operator/operator.crt" "$data/operator/operator.key" "$shared/operator/"
# Renamed into place, so a host never reads half a token.
printf '%s\n' "$token" >"$shared/join-token.tmp"
mv "$shared/join-token.tmp" "$shared/join-token"
say "a join token for $hosts hosts is in $shared/join-token, the operator credential in $shared/operator"
if [ -n "$pki_share" ]; then
  for f in "${cluster_keys[@]}"; do install -m 0600 "$data/pki/$f" "$pki_share/$f"; done
  # Written last: a replica never copies half of the keys.
  : >"$pki_share/complete"
  say "the cluster keys for the other replicas are in $pki_share"
fi

status=0
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done
exit "$status"
