#!/bin/sh
# TLS material for docker-compose.yml, made once by its tls-init service (the dev stack makes the
# same with scripts/dev/stack/tls.ts): a local CA, one server certificate for 127.0.0.1 and localhost
# (and the compose service names), and a certs.d folder (containers/Docker layout) for clients.
#
#   sh make-certs.sh OUT_DIR HOST:PORT...     each HOST:PORT gets OUT_DIR/certs.d/HOST:PORT/ca.crt
set -eu
out="$1"
shift
mkdir -p "$out"
cd "$out"
if [ ! -s ca.crt ] || [ ! -s ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
    -keyout ca.key -out ca.crt -days 3650 -subj '/CN=promoter dev stack CA' \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
  rm -f server.crt
fi
if [ ! -s server.crt ] || ! openssl x509 -in server.crt -noout -checkend 2592000 >/dev/null; then
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout server.key -out server.csr -subj '/CN=localhost'
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' \
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1,DNS:registry-production,DNS:registry-mirror-b,DNS:token-server' >server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 \
    -extfile server.ext -out server.crt
  rm -f server.csr server.ext
fi
chmod 600 ca.key server.key
for host in "$@"; do
  mkdir -p "certs.d/$host"
  cp ca.crt "certs.d/$host/ca.crt"
done
echo "TLS material ready in $out (clients: PROMOTER_REGISTRY_CERTS_DIR=$out/certs.d)"
