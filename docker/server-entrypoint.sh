#!/usr/bin/env bash
# The demo's server container: the server, then what the hosts need to enrol, on the volume they share
# (/shared): a join token for the demo's hosts, and a copy of the operator credential so that `ctl`
# works in every container. A demo shortcut: in a real cluster the operator credential stays with the
# operators, and each host gets its token out of band.
#   docker/server-entrypoint.sh SERVER_FLAGS...     (the flags must include --data-dir $VXGOSSIP_DATA)
# Environment: VXGOSSIP_DATA (default /data), VXGOSSIP_SHARED (default /shared), VXGOSSIP_DEMO_HOSTS
# (how many hosts the token enrols, default 3; 0: none, see below).
#
# Replicas (the compose file's ha profile) share the CA, configuration signer and gossip key through
# etcd: the first replica to start makes them there and the others read them, so no replica needs
# anything from another. VXGOSSIP_DEMO_HOSTS=0 makes a replica that only serves: no token, nothing
# on the shared volume (the demo's hosts need one token, made by one replica).
set -euo pipefail
data=${VXGOSSIP_DATA:-/data}
shared=${VXGOSSIP_SHARED:-/shared}
hosts=${VXGOSSIP_DEMO_HOSTS:-3}
say() { echo "server-entrypoint: $*" >&2; }

case "$hosts" in
  '' | *[!0-9]*) say "VXGOSSIP_DEMO_HOSTS=$hosts: give how many hosts the join token enrols (0: no token)"; exit 2 ;;
  0) exec server "$@" ;;
esac

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

status=0
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done
exit "$status"
