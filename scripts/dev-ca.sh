#!/usr/bin/env bash
# A development CA for vxgossip's gRPC TLS: a CA, a server certificate and client certificates.
#   scripts/dev-ca.sh DIR SERVER_ADDRESS[,MORE...] [CLIENT_NAME...]
# Server addresses may be IPs or DNS names (they go into subjectAltName). Each client name (an
# agent's node name, or "ctl") gets DIR/NAME.crt and DIR/NAME.key. Not for production: the CA key sits
# next to the certificates, unencrypted.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
dir=$1
addresses=$2
shift 2
command -v openssl >/dev/null || { echo "dev-ca: openssl is missing (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"

if [ ! -f ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 825 -subj "/CN=vxgossip development CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "dev-ca: created the CA ($dir/ca.crt)" >&2
fi

# issue NAME EXTENSIONS: a P-256 key and a certificate signed by the CA.
issue() {
  local name=$1 ext=$2
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  printf '%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 825 -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  echo "dev-ca: issued $dir/$name.crt" >&2
}

san=""
IFS=, read -ra parts <<<"$addresses"
for a in "${parts[@]}"; do
  if [[ $a =~ ^[0-9.]+$ || $a == *:* ]]; then san+="IP:$a,"; else san+="DNS:$a,"; fi
done
issue server "subjectAltName=${san%,}
extendedKeyUsage=serverAuth"
for client in "$@"; do
  issue "$client" "extendedKeyUsage=clientAuth"
done
