#!/usr/bin/env bash
# kubectl120_test: Debian's kubectl 1.20 (kubernetes-client, unpacked beside the machine's
# kubectl by scripts/fetch-kubectl-1.20) against kubesim: the same scenario as kubectl132.
set -euo pipefail
. "$(dirname "$0")/lib/kubectl_common.sh"

fetch="${VR_SOURCE_DIR:?VR_SOURCE_DIR is not set}/scripts/fetch-kubectl-1.20"
# The fetch script prints the binary's path last; its progress and errors come before.
if ! out=$("$fetch" 2>&1); then
    vr_kc_skip "kubectl 1.20 (Debian kubernetes-client) cannot be installed here: $(tail -n1 <<<"$out")"
fi
vr_kc_suite "kubectl 1.20" "$(tail -n1 <<<"$out")"
