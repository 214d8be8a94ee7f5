#!/usr/bin/env bash
# The Docker demo end to end, as CI runs it (as root):
#   install Docker from Debian if missing, start dockerd if it is not running, build the base image
#   (docker/build-base-image.sh) and the vxgossip image, start the server and three hosts, create
#   VNI 42, attach a workload namespace on every host, ping between all of them, print PASS or FAIL.
#
#   docker/run-demo.sh --ha     the ha profile instead: two server replicas on a three-member etcd
#     cluster and two hosts given both replicas. VNI 42 is made through server-a, which is then killed
#     (SIGKILL); ctl reads VNI 42 and makes VNI 43 through server-b, the agents reconnect to server-b
#     and realise VNI 43, a workload per host is attached to VNI 43 (ctl endpoint attach, carried to
#     the agents' new streams), and the workloads of both VNIs ping.
#
# Always tears the stack down (both profiles' containers, the volumes and the network), fails if any
# of the compose project's containers, volumes or networks is left, and stops a dockerd it started
# itself (KEEP_DOCKERD=1 leaves it running). Exits non-zero on any failure, after printing the
# services' logs.
set -euo pipefail
cd "$(dirname "$0")/.."

VNI=42
VNI_AFTER_FAILOVER=43
READY_TIMEOUT=${READY_TIMEOUT:-120}           # seconds for the agents to connect, and for VNI realisation

log() { printf '\n[run-demo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

MODE=single
case "${1:-}" in
  "") ;;
  --ha) MODE=ha ;;
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument $1 (docker/run-demo.sh [--ha])" ;;
esac
if [ "$MODE" = ha ]; then
  HOSTS=(ha-host1 ha-host2)
  PROFILE=(--profile ha)
  # Named, so that the single server's services stay down; compose starts what they depend on.
  UP=("${HOSTS[@]}")
  FIRST_SERVER=server-a:50051
else
  HOSTS=(host1 host2 host3)
  PROFILE=()
  UP=()
  FIRST_SERVER=server:50051
fi
ip_of() { echo "10.$2.0.${1##*host}"; }    # ip_of HOST VNI: the address demo-workload.sh gives [ha-]hostN
dc() { docker-compose "${PROFILE[@]}" "$@"; }
# Both profiles' services: the modes share the network and the project, so what one left would be in
# the other's way.
down_all() { docker-compose --profile ha down -v --remove-orphans; }

[ "$(id -u)" -eq 0 ] || die "run as root: it installs and starts Docker, and the agents need the kernel"

T0=$(date +%s)
declare -A TIMING=()
STARTED_DOCKERD=""
STACK_UP=0
PROJECT=""    # the compose project's name, read from a container it started
RESULTS=()
FAILED=0

diagnostics() {
  log "diagnostics"
  dc ps || true
  dc exec -T "${HOSTS[0]}" ctl node list || true
  dc exec -T "${HOSTS[0]}" ctl vni show "$VNI" || true
  dc exec -T "${HOSTS[0]}" ctl fdb show || true
  for h in "${HOSTS[@]}"; do
    echo "--- $h: links, FDB of vxlan$VNI, workload"
    dc exec -T "$h" sh -c "ip -br link; bridge fdb show dev vxlan$VNI; ip netns exec wl ip -br addr; ip netns exec wl ip neigh" || true
  done
  log "service logs"
  dc logs --no-color --tail=300 || true
}

# What of the compose project still exists, on one line: "container x volume y ...".
leftovers() {
  [ -n "$PROJECT" ] || return 0
  local label="label=com.docker.compose.project=$PROJECT"
  {
    docker ps -a --filter "$label" --format 'container {{.Names}}'
    docker volume ls --filter "$label" --format 'volume {{.Name}}'
    docker network ls --filter "$label" --format 'network {{.Name}}'
  } | tr '\n' ' ' | sed 's/ *$//'
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ "$STACK_UP" -eq 1 ]; then
    [ "$rc" -eq 0 ] || diagnostics
    log "tearing down (docker-compose down -v, both profiles)"
    down_all
    local left
    left=$(leftovers)
    if [ -n "$left" ]; then
      log "ERROR: the teardown left $left"
      [ "$rc" -ne 0 ] || rc=1
    fi
  fi
  if [ -n "$STARTED_DOCKERD" ] && [ "${KEEP_DOCKERD:-0}" != 1 ]; then
    log "stopping the dockerd this script started (pid $STARTED_DOCKERD)"
    kill -TERM "$STARTED_DOCKERD" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  fi
  echo
  echo "==================== vxgossip docker demo ===================="
  for k in docker-setup base-image compose-build scenario; do
    [ -n "${TIMING[$k]:-}" ] && printf '  %-14s %ss\n' "$k" "${TIMING[$k]}"
  done
  printf '  %-14s %ss\n' total "$(( $(date +%s) - T0 ))"
  for r in "${RESULTS[@]}"; do echo "  $r"; done
  if [ "$rc" -eq 0 ]; then
    echo "  RESULT: PASS"
  else
    echo "  RESULT: FAIL (exit $rc)"
  fi
  echo "=============================================================="
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Docker, from Debian.
t=$(date +%s)
# A vxgossip plugin socket no agent serves any more (an agent killed with SIGKILL leaves it behind)
# makes the engine retry it for ~15 s on every network command: the demo would take half an hour.
plugin_socket=/run/docker/plugins/vxgossip.sock
if [ -S "$plugin_socket" ] && ! node -e "require('net').connect(process.argv[1]).on('connect', () => process.exit(0)).on('error', () => process.exit(1))" "$plugin_socket"; then
  log "removing $plugin_socket: no agent serves it (one that was killed left it), and Docker would retry it on every command"
  rm -f "$plugin_socket"
fi
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
  log "installing docker.io and docker-compose (apt-get)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io docker-compose
fi
if ! docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    log "starting docker (systemctl)"
    systemctl start docker
  else
    dockerd_log=${TMPDIR:-/tmp}/vxgossip-dockerd.log
    log "starting dockerd in the background (log: $dockerd_log)"
    dockerd >"$dockerd_log" 2>&1 &
    STARTED_DOCKERD=$!
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    [ -n "$STARTED_DOCKERD" ] && tail -n 30 "$dockerd_log" >&2
    die "the Docker engine did not come up within 60 s"
  fi
fi
log "Docker engine $(docker version -f '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"
TIMING[docker-setup]=$(( $(date +%s) - t ))

# 2. Images.
t=$(date +%s)
log "base image (docker/build-base-image.sh)"
docker/build-base-image.sh
TIMING[base-image]=$(( $(date +%s) - t ))

t=$(date +%s)
log "docker-compose build"
dc build
TIMING[compose-build]=$(( $(date +%s) - t ))

# 3. The scenario.
t=$(date +%s)
log "docker-compose up -d (from a clean slate)"
STACK_UP=1
down_all >/dev/null 2>&1 || true
dc up -d "${UP[@]}"
PROJECT=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.project"}}' "$(dc ps -q | head -n 1)")

# Prints "<ready>/<total>" and succeeds when every host is alive in gossip, connected to the server
# and, with a VNI argument, a VTEP of that VNI. Runs ctl and node inside the first host.
CHECK_NODES='
const { execFileSync } = require("node:child_process");
const [hosts, vni] = [Number(process.argv[1]), Number(process.argv[2] || 0)];
let nodes = [];
try { nodes = JSON.parse(execFileSync("ctl", ["-o", "json", "node", "list"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })); } catch {}
const ready = nodes.filter((n) => n.state === "alive" && n.connected && (!vni || n.vnis.includes(vni))).length;
console.log(`${ready}/${hosts}`);
process.exit(ready === hosts ? 0 : 1);'
wait_nodes() {
  local what=$1 vni=${2:-0} deadline=$(( $(date +%s) + READY_TIMEOUT )) got=""
  while :; do
    got=$(dc exec -T "${HOSTS[0]}" node -e "$CHECK_NODES" "${#HOSTS[@]}" "$vni" 2>/dev/null) && { log "$what: $got"; return 0; }
    [ "$(date +%s)" -lt "$deadline" ] || die "$what: only ${got:-0/${#HOSTS[@]}} after ${READY_TIMEOUT}s"
    sleep 2
  done
}

log "waiting for ${#HOSTS[@]} agents: alive in gossip and connected to the server"
wait_nodes "agents ready"
dc exec -T "${HOSTS[0]}" ctl node list

log "ctl --server $FIRST_SERVER vni create $VNI"
dc exec -T "${HOSTS[0]}" ctl --server "$FIRST_SERVER" vni create "$VNI"
wait_nodes "hosts realising VNI $VNI" "$VNI"

for h in "${HOSTS[@]}"; do
  log "workload on $h (docker/demo-workload.sh)"
  dc exec -T "$h" docker/demo-workload.sh --vni "$VNI" --ip "$(ip_of "$h" "$VNI")/24"
done
dc exec -T "${HOSTS[0]}" ctl endpoint list --vni "$VNI"

# ping_all WHEN VNI NETNS: every host's workload in NETNS pings every other's.
ping_all() {
  local when=$1 vni=$2 netns=$3 src dst to out
  log "pinging between all workloads of VNI $vni ($when)"
  for src in "${HOSTS[@]}"; do
    for dst in "${HOSTS[@]}"; do
      [ "$src" = "$dst" ] && continue
      to=$(ip_of "$dst" "$vni")
      if out=$(dc exec -T "$src" ip netns exec "$netns" ping -c 3 -i 0.5 -W 2 "$to" 2>&1); then
        RESULTS+=("PASS  $when: $src/$netns -> $dst/$netns ($to): $(grep -o '[0-9]* received, [0-9.]*% packet loss' <<<"$out")")
      else
        RESULTS+=("FAIL  $when: $src/$netns -> $dst/$netns ($to): $(grep -o '[0-9]* received, .*packet loss' <<<"$out" || tail -n 1 <<<"$out")")
        FAILED=$(( FAILED + 1 ))
      fi
      echo "${RESULTS[-1]}"
    done
  done
}
ping_all "$MODE" "$VNI" wl

# A step of the failover that must work: recorded as PASS, or recorded as FAIL and the demo stops.
step() {
  local what=$1; shift
  if "$@"; then RESULTS+=("PASS  $what"); else RESULTS+=("FAIL  $what"); FAILED=$(( FAILED + 1 )); die "$what"; fi
}

if [ "$MODE" = ha ]; then
  log "killing server-a (SIGKILL): the agents and ctl must carry on through server-b"
  dc kill -s SIGKILL server-a
  step "ctl reads VNI $VNI (made through server-a) from server-b" \
    dc exec -T "${HOSTS[0]}" ctl --server server-b:50051 vni show "$VNI"
  step "ctl, given both replicas, makes VNI $VNI_AFTER_FAILOVER with server-a down" \
    dc exec -T "${HOSTS[0]}" ctl vni create "$VNI_AFTER_FAILOVER"
  step "the agents reconnect to server-b and realise VNI $VNI_AFTER_FAILOVER" \
    wait_nodes "agents on server-b, realising VNI $VNI_AFTER_FAILOVER" "$VNI_AFTER_FAILOVER"
  dc exec -T "${HOSTS[0]}" ctl node list
  for h in "${HOSTS[@]}"; do
    step "a workload on $h attached to VNI $VNI_AFTER_FAILOVER with server-a down" \
      dc exec -T "$h" docker/demo-workload.sh --vni "$VNI_AFTER_FAILOVER" --netns wl2 --ip "$(ip_of "$h" "$VNI_AFTER_FAILOVER")/24"
  done
  ping_all "after server-a was killed" "$VNI" wl
  ping_all "after server-a was killed" "$VNI_AFTER_FAILOVER" wl2
fi
TIMING[scenario]=$(( $(date +%s) - t ))
[ "$FAILED" -eq 0 ] || die "$FAILED of ${#RESULTS[@]} pings failed"
