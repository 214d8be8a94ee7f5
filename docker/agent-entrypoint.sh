#!/usr/bin/env bash
# The demo's host containers: node-agent with the join token the server container leaves on the shared
# volume. The token is used at the first start only: the identity it buys stays in --data-dir, so a
# restarted host needs nothing from the volume (passing the token again is harmless).
#   docker/agent-entrypoint.sh NODE_AGENT_FLAGS...
# Environment: VXGOSSIP_SHARED (default /shared), JOIN_TOKEN_TIMEOUT (seconds, default 120).
set -euo pipefail
file=${VXGOSSIP_SHARED:-/shared}/join-token
timeout=${JOIN_TOKEN_TIMEOUT:-120}

for _ in $(seq "$timeout"); do
  [ -s "$file" ] && break
  sleep 1
done
[ -s "$file" ] || { echo "agent-entrypoint: no join token in $file after ${timeout}s: is the server up?" >&2; exit 1; }
exec node-agent "$@" --join-token "$(cat "$file")"
