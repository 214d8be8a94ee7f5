#!/usr/bin/env bash
# Installs everything vxgossip needs on a fresh Debian machine, then the npm dependencies. (Docker
# Compose, for the compose demo, is installed by docker/run-demo.sh when it runs.)
# Run as root (it uses apt-get); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# program -> Debian package
declare -A needs=(
  [ip]=iproute2
  [bridge]=iproute2
  [ping]=iputils-ping
  [serf]=serf
  [tcpdump]=tcpdump
  [nft]=nftables
  # The BPF datapath: compiled with clang (-target bpf); bpftool is what its tests read the maps with.
  [clang]=clang
  [llvm-objdump]=llvm
  [bpftool]=bpftool
  # The L3 datapath benchmark (bench/l3-datapaths.ts) measures forwarding with it.
  [iperf3]=iperf3
  # The CNI plugin's test with a real runtime: podman on its CNI backend (runc: crun refuses hybrid
  # cgroups), a busybox image made locally, Debian's CNI plugins next to ours.
  [podman]=podman
  [runc]=runc
  # The Docker driver's test: two Docker engines, and a busybox image built offline from Debian's.
  [dockerd]=docker.io
  [busybox]=busybox-static
  # The metrics tests: promtool checks the exposition, the alert rules and their tests.
  [promtool]=prometheus
  # The etcd store's tests run a single etcd member on loopback; the replica tests a three-member
  # cluster in namespaces, which they query with etcdctl and partition with nft (above).
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  # ctl's completion scripts are tested in the shells they are for.
  [zsh]=zsh
)
missing=()
for program in "${!needs[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${needs[$program]}")
done
# A gRPC client that is not ours, for the API contract tests: Debian's Python gRPC.
/usr/bin/python3 -c 'import grpc, grpc_tools' >/dev/null 2>&1 || missing+=(python3-grpcio python3-grpc-tools)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# libbpf's headers and library: the BPF programs include them, the BPF addon links against libbpf.
[ -f /usr/include/bpf/libbpf.h ] || missing+=(libbpf-dev)
[ -f /usr/lib/cni/loopback ] || missing+=(containernetworking-plugins)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
fi

echo "setup: npm ci (also compiles the rtnetlink, ICMP and BPF addons, the TypeScript and the BPF datapath)" >&2
npm ci --no-audit --no-fund
