# shellcheck shell=bash
# test/integration/lib/kubectl_common.sh — the kubectl-against-kubesim scenario shared by
# kubectl132_test.sh and kubectl120_test.sh; source it, then call vr_kc_suite.
#
# Output: one "ok - STEP" line per step; on failure "FAIL: ..." with the command's output and
# kubesim's stderr, exit 1. Every kubectl call runs under `timeout 60`.

. "$(dirname "${BASH_SOURCE[0]}")/kubesim.sh"

KC_BIN='' KC_TMP='' KC_WATCH_PIDS=()
DR=dr-kubectl

# vr_kc_skip MSG: the one clear line, then exit 77 (ctest: skipped).
vr_kc_skip() {
    echo "SKIP: $*"
    exit 77
}

vr_kc_cleanup() {
    local p
    for p in "${KC_WATCH_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    vr_ks_kill
    [ -n "$KC_TMP" ] && rm -rf "$KC_TMP"
}

fail() {
    echo "FAIL: $*"
    vr_ks_dump
    exit 1
}

ok() {
    echo "ok - $*"
}

# kc ARGS...: kubectl against this test's kubesim, with private HOME and discovery cache.
kc() {
    HOME="$KC_TMP/home" timeout 60 "$KC_BIN" --kubeconfig "$KS_KUBECONFIG" \
        --cache-dir "$KC_TMP/cache" "$@"
}

# expect_out REGEX DESC ARGS...: run kc ARGS; it must exit 0 and print a line matching REGEX.
expect_out() {
    local re=$1 desc=$2 out rc=0
    shift 2
    out=$(kc "$@" 2>&1) || rc=$?
    if [ "$rc" != 0 ] || ! grep -qE "$re" <<<"$out"; then
        fail "$desc: kubectl $* exited $rc; wanted a line matching /$re/; output:
$out"
    fi
    ok "$desc"
}

# json_check DESC PYEXPR: `get $DR -o json`, then PYEXPR (over `o`) must hold.
json_check() {
    local desc=$1 expr=$2 out
    out=$(kc get downloadrequest "$DR" -o json 2>&1) || fail "$desc: get -o json: $out"
    if ! /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.stdin.read())
sys.exit(0 if ('"$expr"') else 1)' <<<"$out"; then
        fail "$desc: wanted $expr in:
$out"
    fi
    ok "$desc"
}

# start_watch NAME ARGS...: run `kc get ARGS` in the background writing to a fifo; opens it on
# fd W_NAME for wait_line. The watcher's lines are also kept in $KC_TMP/NAME.log.
start_watch() {
    local name=$1 fd
    shift
    mkfifo "$KC_TMP/$name.fifo"
    kc get "$@" >"$KC_TMP/$name.fifo" 2>"$KC_TMP/$name.err" &
    KC_WATCH_PIDS+=($!)
    exec {fd}<"$KC_TMP/$name.fifo"
    printf -v "W_$name" '%s' "$fd"
}

# wait_line NAME REGEX DESC: read watcher NAME's lines until one matches REGEX (30 s cap).
wait_line() {
    local name=$1 re=$2 desc=$3 fdvar="W_$1" line
    local deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! IFS= read -r -t $((deadline - SECONDS + 1)) -u "${!fdvar}" line; then
            break
        fi
        echo "$line" >>"$KC_TMP/$name.log"
        if grep -qE "$re" <<<"$line"; then
            ok "$desc"
            return 0
        fi
    done
    fail "$desc: watcher '$name' printed no line matching /$re/ in 30 s; it printed:
$(cat "$KC_TMP/$name.log" 2>/dev/null)
stderr: $(cat "$KC_TMP/$name.err" 2>/dev/null)"
}

# stop_watches: each watcher must still be running (a watch that ended early is a bug), then
# is killed.
stop_watches() {
    local p
    for p in "${KC_WATCH_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null || fail "a kubectl watcher exited early: $(cat "$KC_TMP"/*.err)"
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    KC_WATCH_PIDS=()
    ok "watchers were still running and were stopped"
}

# vr_kc_suite LABEL KUBECTL: create, get, get -o json, get -w (ADDED then MODIFIED),
# patch --type=merge of the status, delete (waits via a fieldSelector watch), get → NotFound.
vr_kc_suite() {
    local label=$1 ver out rc
    KC_BIN=$2
    KC_TMP=$(mktemp -d)
    trap vr_kc_cleanup EXIT
    mkdir -p "$KC_TMP/home"
    ver=$(timeout 60 "$KC_BIN" version --client 2>/dev/null | head -n1 || true)
    echo "# $label: $KC_BIN ($ver)"

    vr_ks_start "$KC_TMP" || fail "kubesim did not start"
    ok "kubesim up at $KS_URL"

    expect_out "^downloadrequest\.velero\.io/$DR created$" "create -f" \
        create -f "${VR_FIXTURES:?}/kubesim/downloadrequest.yaml"
    expect_out "^NAME" "get downloadrequests: header" get downloadrequests
    expect_out "^${DR}[[:space:]]" "get downloadrequests: lists $DR" get downloadrequests
    json_check "get -o json: identity" \
        'o["kind"] == "DownloadRequest" and o["apiVersion"] == "velero.io/v1" and o["metadata"]["name"] == "'$DR'" and o["metadata"]["namespace"] == "velero"'
    json_check "get -o json: server fields" \
        'o["metadata"].get("uid") and o["metadata"].get("resourceVersion", "").isdigit() and o["metadata"].get("creationTimestamp")'
    json_check "get -o json: spec kept" \
        'o["spec"] == {"target": {"kind": "BackupLog", "name": "backup-1"}}'
    local rv1
    rv1=$(kc get downloadrequest "$DR" -o 'jsonpath={.metadata.resourceVersion}') || fail "get -o jsonpath"

    # Two watchers: the collection with event types, and the one object showing its phase.
    start_watch all downloadrequests -w --output-watch-events
    start_watch one downloadrequest "$DR" -w -o 'custom-columns=NAME:.metadata.name,PHASE:.status.phase'
    wait_line all "^ADDED[[:space:]]+${DR}[[:space:]]" "get -w --output-watch-events: ADDED $DR"
    wait_line one "^${DR}[[:space:]]+<none>" "get NAME -w: initial state, no phase"

    expect_out "^downloadrequest\.velero\.io/$DR patched$" "patch --type=merge status" \
        patch downloadrequest "$DR" --type=merge \
        -p '{"status":{"phase":"Processed","downloadURL":"https://example.invalid/dl","expiration":"2030-01-01T00:00:00Z"}}'
    wait_line all "^MODIFIED[[:space:]]+${DR}[[:space:]]" "get -w --output-watch-events: MODIFIED $DR"
    wait_line one "^${DR}[[:space:]]+Processed" "get NAME -w: MODIFIED state shows phase Processed"
    stop_watches

    json_check "get -o json after patch: status" \
        'o["status"] == {"phase": "Processed", "downloadURL": "https://example.invalid/dl", "expiration": "2030-01-01T00:00:00Z"}'
    json_check "get -o json after patch: spec untouched, resourceVersion bumped" \
        'o["spec"]["target"]["name"] == "backup-1" and int(o["metadata"]["resourceVersion"]) > '"$rv1"
    expect_out "^downloadrequest\.velero\.io/$DR patched \(no change\)$" "patch with the same status: no change" \
        patch downloadrequest "$DR" --type=merge -p '{"status":{"phase":"Processed"}}'

    expect_out "^downloadrequest\.velero\.io \"$DR\" deleted$" "delete (waits for deletion)" \
        delete downloadrequest "$DR"
    rc=0
    out=$(kc get downloadrequest "$DR" 2>&1) || rc=$?
    if [ "$rc" = 0 ] || ! grep -q "(NotFound).*\"$DR\" not found" <<<"$out"; then
        fail "get after delete: wanted NotFound, exit $rc: $out"
    fi
    ok "get after delete: NotFound"

    vr_ks_stop || fail "kubesim did not shut down cleanly"
    ok "kubesim stopped cleanly"
    echo "# $label: all steps passed"
}
