#!/usr/bin/env bash
# A development CA, for trying vxgossip with certificates from your own CA instead of the cluster CA the
# server makes (server --tls-cert/--tls-key/--tls-client-ca, node-agent --tls-*, ctl --tls-*):
#   scripts/dev-ca.sh DIR SERVER_ADDRESS[,MORE...] [CLIENT...]
# SERVER_ADDRESS: IPs or DNS names for the server certificate (CN=server:vxgossip). CLIENT:
# operator:NAME (for ctl), or node:NAME@VTEP[,VTEP...] (for node-agent; the VTEPs become IP SANs);
# a bare NAME is node:NAME without VTEPs. Each gets DIR/NAME.crt and DIR/NAME.key. Not for
# production: the CA key sits next to the certificates, unencrypted.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
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

# san ADDRESS,...: a subjectAltName value, IPs as IP and anything else as DNS.
san() {
  local out="" a
  IFS=, read -ra parts <<<"$1"
  for a in "${parts[@]}"; do
    if [[ $a =~ ^[0-9.]+$ || $a == *:* ]]; then out+="IP:$a,"; else out+="DNS:$a,"; fi
  done
  echo "${out%,}"
}

# issue FILE SUBJECT EXTENSIONS: a P-256 key and a certificate signed by the CA. vxgossip reads who a
# certificate speaks for from its subject, exactly CN=ROLE:NAME.
issue() {
  local file=$1 cn=$2 ext=$3
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$file.key" -out "$file.csr" -subj "/CN=$cn" 2>/dev/null
  printf '%s\n' "$ext" >"$file.ext"
  openssl x509 -req -in "$file.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$file.crt" -days 825 -extfile "$file.ext" 2>/dev/null
  rm -f "$file.csr" "$file.ext"
  echo "dev-ca: issued $dir/$file.crt ($cn)" >&2
}

issue server server:vxgossip "subjectAltName=$(san "$addresses")
extendedKeyUsage=serverAuth"
for client in "$@"; do
  case "$client" in
    operator:*) role=operator; rest=${client#operator:} ;;
    node:*) role=node; rest=${client#node:} ;;
    *:*) echo "dev-ca: $client: the role must be operator or node" >&2; exit 2 ;;
    *) role=node; rest=$client ;;
  esac
  name=${rest%%@*}
  [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "dev-ca: $client: a name is letters, digits, '.', '_' and '-'" >&2; exit 2; }
  ext="extendedKeyUsage=clientAuth"
  [ "$rest" = "$name" ] || ext+=$'\n'"subjectAltName=$(san "${rest#*@}")"
  issue "$name" "$role:$name" "$ext"
done
