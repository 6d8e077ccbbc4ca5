# shellcheck shell=bash
# scripts/lib.sh — helpers shared by scripts/*; source it, do not run it.

# vr_log MSG...: one progress line on stderr, prefixed with the calling script's name.
vr_log() {
    echo "${0##*/}: $*" >&2
}

# vr_die MSG...: print and exit 1.
vr_die() {
    vr_log "error: $*"
    exit 1
}

# vr_as_root CMD...: run CMD as root — directly when we are root, else through sudo.
# The environment apt needs to stay non-interactive is passed explicitly through sudo.
vr_as_root() {
    if [ "$(id -u)" = 0 ]; then
        env DEBIAN_FRONTEND=noninteractive "$@"
    elif command -v sudo >/dev/null; then
        sudo env DEBIAN_FRONTEND=noninteractive "$@"
    else
        vr_die "need root for: $* (not root, and no sudo)"
    fi
}

# vr_apt_updated: run `apt-get update` at most once per script run.
vr_apt_updated=
vr_apt_update() {
    [ -n "$vr_apt_updated" ] && return 0
    vr_log "apt-get update"
    vr_as_root apt-get -q -o DPkg::Lock::Timeout=300 update >&2
    vr_apt_updated=1
}

# vr_repo_root: absolute path of the repository (the parent of scripts/).
vr_repo_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}

# vr_jobs: parallel build jobs (all cores).
vr_jobs() {
    nproc 2>/dev/null || echo 2
}
