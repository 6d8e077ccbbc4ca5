# shellcheck shell=bash
# test/integration/lib/kubesim.sh — start and stop a kubesim process from bash; source it.
#
# Waiting is event-driven (fifos and `read -t`), never sleep-polling (STYLE.md §7).
# Needs bash ≥ 4.4 (automatic fds). Globals set by vr_ks_start: KS_PID, KS_URL, KS_KUBECONFIG,
# KS_DIR.

KS_PID='' KS_DRAIN_PID='' KS_URL='' KS_KUBECONFIG='' KS_DIR=''

# vr_ks_start DIR [KUBESIM_ARGS...]: run ${VR_BIN_DIR}/kubesim on 127.0.0.1:0 writing its
# kubeconfig to DIR/kubeconfig; return once it printed "kubesim listening on URL" (30 s cap).
# Its stdout is kept in DIR/kubesim.out, stderr in DIR/kubesim.err. Returns 1 with a message
# when it does not come up.
vr_ks_start() {
    KS_DIR=$1
    shift
    local bin=${KUBESIM_BIN:-${VR_BIN_DIR:?VR_BIN_DIR is not set}/kubesim}
    local line fd
    if [ ! -x "$bin" ]; then
        echo "FAIL: no kubesim binary at $bin"
        return 1
    fi
    KS_KUBECONFIG="$KS_DIR/kubeconfig"
    rm -f "$KS_DIR/kubesim.fifo"
    mkfifo "$KS_DIR/kubesim.fifo"
    # If this script is killed outright (ctest timeout), the kernel still stops kubesim.
    local guard=()
    [[ $(setpriv --help 2>/dev/null) == *--pdeathsig* ]] && guard=(setpriv --pdeathsig TERM --)
    "${guard[@]}" "$bin" --listen 127.0.0.1:0 --kubeconfig-out "$KS_KUBECONFIG" "$@" \
        >"$KS_DIR/kubesim.fifo" 2>"$KS_DIR/kubesim.err" &
    KS_PID=$!
    exec {fd}<"$KS_DIR/kubesim.fifo"
    if ! IFS= read -r -t 30 -u "$fd" line || [[ $line != "kubesim listening on http://"* ]]; then
        exec {fd}<&-
        echo "FAIL: kubesim did not report 'kubesim listening on http://...' (got: '${line:-}')"
        vr_ks_dump
        return 1
    fi
    KS_URL=${line#kubesim listening on }
    # Keep draining stdout so kubesim can never block on a full pipe.
    cat <&"$fd" >"$KS_DIR/kubesim.out" &
    KS_DRAIN_PID=$!
    exec {fd}<&-
    if [ ! -s "$KS_KUBECONFIG" ]; then
        echo "FAIL: kubesim announced $KS_URL but wrote no kubeconfig at $KS_KUBECONFIG"
        return 1
    fi
}

# vr_ks_dump: show the tail of kubesim's stderr (for failure reports).
vr_ks_dump() {
    if [ -n "$KS_DIR" ] && [ -s "$KS_DIR/kubesim.err" ]; then
        echo "--- kubesim stderr (last 40 lines) ---"
        tail -n 40 "$KS_DIR/kubesim.err"
        echo "---"
    fi
}

# vr_ks_stop: SIGTERM kubesim and wait for it (10 s, then SIGKILL). Returns 1 when it did not
# exit 0 by itself, or when a sanitizer reported anything (leaks included) on its stderr.
vr_ks_stop() {
    local rc=0
    [ -n "$KS_PID" ] || return 0
    kill -TERM "$KS_PID" 2>/dev/null || true
    if ! timeout 10 tail --pid="$KS_PID" -f /dev/null; then
        echo "FAIL: kubesim did not exit within 10 s of SIGTERM; killing it"
        kill -KILL "$KS_PID" 2>/dev/null || true
        rc=1
    fi
    local st=0
    wait "$KS_PID" 2>/dev/null || st=$?
    KS_PID=
    if [ -n "$KS_DRAIN_PID" ]; then
        wait "$KS_DRAIN_PID" 2>/dev/null || true
        KS_DRAIN_PID=
    fi
    if [ "$rc" = 0 ] && [ "$st" != 0 ]; then
        echo "FAIL: kubesim exited with status $st after SIGTERM (expected 0)"
        rc=1
    fi
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$KS_DIR/kubesim.err" 2>/dev/null; then
        echo "FAIL: sanitizer report from kubesim"
        rc=1
    fi
    [ "$rc" = 0 ] || vr_ks_dump
    return "$rc"
}

# vr_ks_kill: cleanup for traps — make sure no kubesim is left running, quietly.
vr_ks_kill() {
    if [ -n "$KS_PID" ]; then
        kill -KILL "$KS_PID" 2>/dev/null || true
        wait "$KS_PID" 2>/dev/null || true
        KS_PID=
    fi
    if [ -n "$KS_DRAIN_PID" ]; then
        kill "$KS_DRAIN_PID" 2>/dev/null || true
        KS_DRAIN_PID=
    fi
}

# vr_ks_test_tmp: for a test script driving kubesim and a vreqd. Sets tmp to a new
# directory and VQ_PID (the script stores its vreqd's pid there while one runs) and traps
# EXIT to kill both, and kubesim, and remove tmp.
vr_ks_test_tmp() {
    tmp=$(mktemp -d)
    VQ_PID=
    trap vr__ks_test_cleanup EXIT
}

vr__ks_test_cleanup() {
    if [ -n "${VQ_PID:-}" ]; then
        kill -KILL "$VQ_PID" 2>/dev/null || true
        wait "$VQ_PID" 2>/dev/null || true
    fi
    vr_ks_kill
    rm -rf "$tmp"
}
