#!/usr/bin/env bash
# kubectl132_test: the kubectl installed on the machine (1.32 on the project's machines)
# against kubesim: create -f, get, get -o json, get -w, patch --type=merge, delete.
set -euo pipefail
. "$(dirname "$0")/lib/kubectl_common.sh"

kubectl_bin=$(command -v kubectl) || vr_kc_skip "no kubectl on PATH (scripts/deps installs one)"
timeout 60 "$kubectl_bin" version --client >/dev/null 2>&1 || vr_kc_skip "$kubectl_bin does not run"
vr_kc_suite "machine kubectl" "$kubectl_bin"
