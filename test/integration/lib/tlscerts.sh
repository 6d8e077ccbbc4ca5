#!/usr/bin/env bash
# test/integration/lib/tlscerts.sh DIR — generate throw-away TLS material for the TLS tests
# with the openssl CLI, into DIR (which must exist):
#   ca.crt ca.key              test CA (CN "vreq test CA")
#   server.crt server.key      signed by ca, SAN IP:127.0.0.1 and DNS:localhost
#   client.crt client.key      signed by ca, CN "vreq-test-client" (clientAuth)
#   other-ca.crt other-ca.key  an unrelated CA (the "wrong CA" case)
# Keys are EC P-256 and exist only for the duration of one test run; nothing here is
# ever committed. Prints "tlscerts ready DIR" on success; exits non-zero with openssl's
# message otherwise.
set -euo pipefail
dir=${1:?usage: tlscerts.sh DIR}
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # ca NAME CN
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 2 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
}

leaf() { # leaf NAME CN EXTFILE-TEXT
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 2 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "vreq test CA"
ca other-ca "vreq unrelated CA"
leaf server 127.0.0.1 "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf client vreq-test-client "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
openssl verify -CAfile ca.crt server.crt client.crt >/dev/null
chmod 644 ./*.crt
echo "tlscerts ready $dir"
