#!/usr/bin/env bash
# metrics_promtool_test: the exposition of a populated vreqd registry (test_metrics --dump:
# every vreqd_ family, histograms, escaped labels, process_* from /proc) passes
# `promtool check metrics` (Debian package prometheus, installed by scripts/deps), and
# promtool really rejects a broken exposition, so this test can fail.
set -euo pipefail
bin=${VR_BIN_DIR:?VR_BIN_DIR is set by test/CMakeLists.txt}

if ! command -v promtool >/dev/null; then
    echo "SKIP: promtool not found (scripts/deps installs Debian package prometheus)"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin/test_metrics" --dump >"$tmp/metrics.txt"
for fam in vreqd_build_info vreqd_reconciles_total vreqd_reconcile_duration_seconds \
           vreqd_workqueue_depth vreqd_watch_restarts_total vreqd_watch_relists_total \
           vreqd_cached_objects vreqd_api_requests_total vreqd_presign_duration_seconds \
           vreqd_leader process_resident_memory_bytes process_cpu_seconds_total \
           process_open_fds process_start_time_seconds; do
    grep -q "^# TYPE $fam " "$tmp/metrics.txt" || { echo "FAIL: no family $fam"; exit 1; }
done
if ! out=$(promtool check metrics <"$tmp/metrics.txt" 2>&1); then
    printf 'FAIL: promtool check metrics:\n%s\n' "$out"
    exit 1
fi
if [ -n "$out" ]; then # lint findings are printed even when the exit status is 0
    printf 'FAIL: promtool lint findings:\n%s\n' "$out"
    exit 1
fi

# A sample line without a value.
printf '# HELP x_total X.\n# TYPE x_total counter\nx_total{a="b"}\n' >"$tmp/bad.txt"
if promtool check metrics <"$tmp/bad.txt" >/dev/null 2>&1; then
    echo "FAIL: promtool accepted a broken exposition"
    exit 1
fi
echo "ok: promtool accepts $(grep -c '^[a-z]' "$tmp/metrics.txt") samples"
