#!/usr/bin/env bash
# vreq_progress_test: `vreq backup download` of a large tarball (through a relay that passes
# 4 MiB/s) shows the progress bar (bytes, rate, ETA) when stderr is a terminal — run inside
# a detached tmux session and read back with capture-pane — and writes nothing at all to
# stderr when it is a pipe. Skips (77) without tmux or the S3 peer.
set -euo pipefail
command -v tmux >/dev/null || { echo "SKIP: tmux is not installed (scripts/deps)"; exit 77; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec /usr/bin/python3 - "$here/lib" <<'PY'
import os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import s3peer, vreqworld, vrproc

why = s3peer.ensure_installed()
if why:
    print(f"SKIP: {why}")
    sys.exit(77)
BIG = os.urandom(16 << 20)
d = vrproc.workdir("vr-progress-")
home = d.name
w = vreqworld.World(home, {"backups/big/big.tar.gz": BIG}, ["big"], relay_rate=4 << 20)
sock = os.path.join(home, "tmux.sock")
tmux = ["tmux", "-S", sock]
failed = []
try:
    vreq = os.path.join(os.environ["VR_BIN_DIR"], "vreq")
    # 1. A terminal: the bar appears while the download runs, and the file is complete.
    tty_dir = os.path.join(home, "tty")
    os.mkdir(tty_dir)
    script = os.path.join(home, "run.sh")
    with open(script, "w") as f:
        f.write(f"cd {tty_dir} && {vreq} --kubeconfig {w.kubeconfig} backup download big "
                f">{home}/tty.out; echo $? >{home}/tty.rc; sleep 30\n")
    env = vreqworld.vreq_env(home, TERM="xterm")
    subprocess.run(tmux + ["new-session", "-d", "-x", "150", "-y", "10", "bash", script],
                   check=True, env=env)
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not os.path.exists(f"{home}/tty.rc"):
        pane = subprocess.run(tmux + ["capture-pane", "-p"], capture_output=True,
                              text=True).stdout
        if "MiB /" in pane and "ETA" in pane and "MiB/s" in pane:
            seen = pane
        time.sleep(0.2)
    deadline = time.monotonic() + 60
    while not os.path.exists(f"{home}/tty.rc") and time.monotonic() < deadline:
        time.sleep(0.2)
    rc = open(f"{home}/tty.rc").read().strip() if os.path.exists(f"{home}/tty.rc") else "?"
    final = subprocess.run(tmux + ["capture-pane", "-p"], capture_output=True, text=True).stdout
    if rc != "0":
        failed.append(f"download in tmux exited {rc}; pane:\n{final}")
    if not seen:
        failed.append(f"no progress bar seen in the terminal; final pane:\n{final}")
    elif "16.0 MiB / 16.0 MiB  100%" not in final:
        failed.append(f"the final bar does not show 100%:\n{final}")
    with open(os.path.join(tty_dir, "big-data.tar.gz"), "rb") as f:
        if f.read() != BIG:
            failed.append("the file downloaded in tmux differs from the stored object")
    # 2. A pipe: no progress output at all.
    pipe_dir = os.path.join(home, "pipe")
    os.mkdir(pipe_dir)
    r = subprocess.run([vreq, "--kubeconfig", w.kubeconfig, "backup", "download", "big"],
                       cwd=pipe_dir, capture_output=True, env=env, timeout=60)
    if r.returncode != 0 or r.stderr != b"":
        failed.append(f"piped stderr: exit {r.returncode}, stderr {r.stderr[:300]!r}")
finally:
    subprocess.run(tmux + ["kill-server"], capture_output=True)
    w.stop()
    d.cleanup()
if failed:
    print("FAIL: " + "\n".join(failed))
    sys.exit(1)
print("PASS: progress bar in a terminal, none on a pipe")
PY
