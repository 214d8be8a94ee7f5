#!/usr/bin/env bash
# Builds the local base image for docker/Dockerfile without any image registry: debootstrap a minimal
# Debian from the apt mirror this host already uses, copy in this host's Node.js runtime (node, npm and
# the headers node-gyp compiles the addon against), then `docker import` the tree.
#
#   docker/build-base-image.sh [--force] [--tag IMAGE]
#
# Skips the build when IMAGE (default vxgossip-base:bookworm) exists, unless --force.
# Environment: DEBIAN_MIRROR overrides the mirror read from /etc/apt; TMPDIR is where the tree is built.
# Needs root and a running Docker engine.
set -euo pipefail

SUITE=bookworm
TAG=vxgossip-base:bookworm
FORCE=0
# What the image needs besides minbase: the demo's networking tools, a toolchain for node-gyp, and
# clang and libbpf for the BPF datapath (its programs and its addon).
PACKAGES=iproute2,iputils-ping,ca-certificates,python3,make,g++,procps,tcpdump,clang,libbpf-dev
# Where the copied Node.js lands in the image: the same place the official node images use.
NODE_PREFIX=/usr/local

log() { printf '[build-base-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) [ $# -ge 2 ] || die "--tag needs a value"; TAG=$2; shift ;;
    --tag=*) TAG=${1#--tag=} ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (is dockerd running?)"

if [ "$FORCE" -eq 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  log "image $TAG already exists; nothing to do (--force rebuilds it)"
  exit 0
fi

# The first Debian archive URI serving $SUITE in this host's apt configuration, deb822 (*.sources)
# first, then the one-line format (sources.list, *.list).
detect_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          key = tolower(line); sub(/:.*/, "", key)
          val = line; sub(/^[^:]*:[ \t]*/, "", val)
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
          else if (key == "enabled") enabled = tolower(val)
        }
        if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  return 1
}

MIRROR=${DEBIAN_MIRROR:-$(detect_mirror || true)}
[ -n "$MIRROR" ] || die "found no apt source for $SUITE in /etc/apt; set DEBIAN_MIRROR=<archive URL>"
if [ -n "${DEBIAN_MIRROR:-}" ]; then log "Debian mirror (DEBIAN_MIRROR): $MIRROR"; else log "Debian mirror (from /etc/apt): $MIRROR"; fi

# This host's Node.js: the real binary, the npm package next to it and the headers.
command -v node >/dev/null || die "node is not installed on this host; the image reuses the host's Node.js"
NODE_BIN=$(readlink -f "$(command -v node)")
HOST_PREFIX=$(dirname "$(dirname "$NODE_BIN")")
NPM_DIR=""
if command -v npm >/dev/null; then
  cli=$(readlink -f "$(command -v npm)")          # .../node_modules/npm/bin/npm-cli.js
  case "$cli" in */node_modules/npm/bin/*) NPM_DIR=${cli%/bin/*} ;; esac
fi
for d in "$NPM_DIR" "$HOST_PREFIX/lib/node_modules/npm" /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm; do
  if [ -n "$d" ] && [ -f "$d/bin/npm-cli.js" ]; then NPM_DIR=$d; break; fi
done
[ -f "$NPM_DIR/bin/npm-cli.js" ] || die "cannot find the npm package of $NODE_BIN (looked under $HOST_PREFIX/lib/node_modules)"
NODE_HEADERS=$HOST_PREFIX/include/node
[ -f "$NODE_HEADERS/node_api.h" ] || die "no Node.js headers in $NODE_HEADERS; node-gyp would have to download them"
# The compose file's ha profile runs etcd members: this host's etcd (Debian's etcd-server, which
# scripts/setup.sh installs), copied like Node.js. Installing the package in the tree instead would run
# its scripts, which start the daemon.
ETCD_BIN=$(command -v etcd || true)
[ -n "$ETCD_BIN" ] || die "etcd is not installed on this host (apt-get install etcd-server); the image copies it"
log "Node.js: $NODE_BIN ($("$NODE_BIN" --version)), npm $("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" --version 2>/dev/null) from $NPM_DIR, headers $NODE_HEADERS"

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; } \
    || die "cannot install debootstrap"
fi

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/vxgossip-base.XXXXXX")
ROOTFS=$WORK/rootfs
cleanup() {
  local rc=$? m
  # Anything debootstrap or chroot left mounted inside the tree must go before the tree does.
  for m in $(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$WORK"
  [ "$rc" -eq 0 ] || log "failed (exit $rc); removed $WORK"
}
trap cleanup EXIT

started=$(date +%s)
log "debootstrap --variant=minbase $SUITE into $ROOTFS (+ $PACKAGES); this takes a few minutes"
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  [ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi
log "debootstrap done in $(( $(date +%s) - started ))s"

log "copying Node.js into $NODE_PREFIX"
install -d "$ROOTFS$NODE_PREFIX/bin" "$ROOTFS$NODE_PREFIX/lib/node_modules" "$ROOTFS$NODE_PREFIX/include" "$ROOTFS$NODE_PREFIX/etc"
install -m 0755 "$NODE_BIN" "$ROOTFS$NODE_PREFIX/bin/node"
cp -a "$NPM_DIR" "$ROOTFS$NODE_PREFIX/lib/node_modules/npm"
cp -a "$NODE_HEADERS" "$ROOTFS$NODE_PREFIX/include/node"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS$NODE_PREFIX/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS$NODE_PREFIX/bin/npx"
log "copying etcd ($("$ETCD_BIN" --version | head -n 1)) into /usr/bin"
install -m 0755 "$ETCD_BIN" "$ROOTFS/usr/bin/etcd"

# Trust what this host trusts: a host behind a TLS-inspecting proxy reaches the npm registry only
# with its local CAs, and so will the image build.
if [ -d /usr/local/share/ca-certificates ] && [ -n "$(ls -A /usr/local/share/ca-certificates)" ]; then
  log "adding this host's local CA certificates: $(cd /usr/local/share/ca-certificates && ls | tr '\n' ' ')"
  cp -a /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/"
fi
chroot "$ROOTFS" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the tree"

# The npm settings that decide how the registry is reached, as this host has them (only these keys:
# no tokens or other user configuration go into the image).
npmrc=$ROOTFS$NODE_PREFIX/etc/npmrc
: >"$npmrc"
for key in registry proxy https-proxy noproxy cafile strict-ssl; do
  val=$(npm config get "$key" 2>/dev/null || true)
  case "$val" in ''|null|undefined) continue ;; esac
  [ "$key" = strict-ssl ] && [ "$val" = true ] && continue
  if [ "$key" = cafile ]; then
    [ -f "$val" ] || continue
    # The system bundle is regenerated above (with the host's local CAs); any other file is copied.
    if [ "$val" != /etc/ssl/certs/ca-certificates.crt ]; then install -D -m 0644 "$val" "$ROOTFS$val"; fi
  fi
  printf '%s=%s\n' "$key" "$val" >>"$npmrc"
done
echo update-notifier=false >>"$npmrc"   # no version check against the registry on every run
log "npm global config in the image ($NODE_PREFIX/etc/npmrc): $(tr '\n' ' ' <"$npmrc")"

log "checking the runtime inside the tree"
chroot "$ROOTFS" "$NODE_PREFIX/bin/node" --version >/dev/null || die "node does not run inside the image (missing libraries?)"
chroot "$ROOTFS" env PATH="$NODE_PREFIX/bin:/usr/bin:/bin" npm --version >/dev/null || die "npm does not run inside the image"
chroot "$ROOTFS" /usr/bin/etcd --version >/dev/null || die "etcd does not run inside the image (missing libraries?)"
for tool in ip ping python3 make g++ ps tcpdump; do
  chroot "$ROOTFS" env PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "command -v $tool" >/dev/null || die "$tool is missing in the image"
done

log "trimming apt caches"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/debootstrap

log "importing the tree as $TAG"
tar --numeric-owner --xattrs -C "$ROOTFS" -c . | docker import \
  --change "ENV PATH=$NODE_PREFIX/sbin:$NODE_PREFIX/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
  --change 'CMD ["bash"]' \
  --message "vxgossip base: Debian $SUITE minbase + Node.js $("$NODE_BIN" --version) from the build host" \
  - "$TAG" >/dev/null
log "built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{ printf "%.0f MB", $1 / 1e6 }')) in $(( $(date +%s) - started ))s"
