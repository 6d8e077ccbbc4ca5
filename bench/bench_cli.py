#!/usr/bin/python3
"""bench/bench_cli.py — wall time of `vreq backup logs` against a python3-kubernetes client
that follows Velero's CLI algorithm (bench/cli_ref/velero_logs.py), same world, same run.

    bench_cli.py [--build-dir DIR] [--rounds N] [--smoke] [--python PATH]

Starts on free loopback ports, with the integration tests' helpers (test/integration/lib):
the S3 peer (test/s3peer, @20minutes/s3rver 4.0.4, verifies every SigV4 signature), kubesim
seeded with the credential Secret, BSL `default` and a Completed Backup, and vreqd from
DIR/bin (default build/). The backup's log, a few KiB of Velero log lines, is uploaded
gzipped with a signed PUT at Velero's key backups/NAME/NAME-logs.gz.

After one warm-up of each, every round times, as whole subprocesses (time.perf_counter
around spawn to exit, stdout captured), in an order that alternates from round to round:
  (a) DIR/bin/vreq backup logs NAME
  (b) PYTHON bench/cli_ref/velero_logs.py --timing NAME
and, for context, (c) PYTHON -c 'import kubernetes' (interpreter start-up plus the import),
(d) the reference's own create -> Processed -> deleted time, which it prints on stderr, and
(e) DIR/bin/vreq --help (process start, no I/O).
Both clients get the same environment (KUBECONFIG = kubesim's kubeconfig, HOME = the temp
dir, no AWS_*, no proxy variables). Each output must equal the uploaded log byte for byte,
and no DownloadRequest may be left behind, or it exits 1.

Prints median (min–max) milliseconds of each, the ratio reference / vreq (of the medians,
and per round), and the target (>= 5x). Full mode 20 rounds, --smoke 2. PYTHON defaults to
/usr/bin/python3 (Debian's, which has python3-kubernetes). Exit status 0 when every run
produced the log, 1 otherwise (also when the S3 peer is not installed: one line says so).
Nothing here asserts on a figure. Everything started is stopped (SIGTERM, then SIGKILL) and
the temp dir removed on every exit path.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "integration", "lib"))
import s3peer  # noqa: E402
import vreqworld  # noqa: E402
import vrproc  # noqa: E402

BACKUP = "nightly-7"
REF = os.path.join(HERE, "cli_ref", "velero_logs.py")
TARGET_RATIO = 5.0
RUN_TIMEOUT_S = 120
REF_MS_RE = re.compile(r"^velero_logs: create-to-deleted-ms (\d+(?:\.\d+)?)$", re.M)
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class BenchError(Exception):
    """A failure to report as one line (plus detail) before exiting 1."""


def velero_log():
    """A Velero backup log of a few KiB: the lines a small backup of one namespace writes."""
    src = 'logSource="pkg/backup/backup.go:%d"'
    head = [
        ("Setting up backup temp file", 'logSource="pkg/controller/backup_controller.go:617"'),
        ("Setting up plugin manager", 'logSource="pkg/controller/backup_controller.go:624"'),
        ("Getting backup item actions", 'logSource="pkg/controller/backup_controller.go:628"'),
        ("Setting up backup store to check for backup existence",
         'logSource="pkg/controller/backup_controller.go:633"'),
        ("Writing backup version file", src % 197),
        ("Including namespaces: shop", src % 205),
        ("Excluding namespaces: <none>", src % 206),
        ("Including resources: *", 'logSource="pkg/util/collections/includes_excludes.go:506"'),
    ]
    lines = []
    for i, (msg, where) in enumerate(head):
        lines.append(f'time="2026-01-15T01:00:{i // 4 + 2:02d}Z" level=info msg="{msg}" '
                     f'backup=velero/{BACKUP} {where}')
    items = [("pods", f"web-{i}") for i in range(3)] + \
            [("services", "web"), ("configmaps", "web-config"), ("secrets", "web-tls"),
             ("persistentvolumeclaims", "data-web-0"), ("deployments.apps", "web"),
             ("replicasets.apps", "web-6d4cf56db6"), ("serviceaccounts", "default")]
    for n, (res, name) in enumerate(items, 1):
        t = f"2026-01-15T01:00:{5 + n // 3:02d}Z"
        lines.append(f'time="{t}" level=info msg="Processing item" backup=velero/{BACKUP} '
                     f'logSource="pkg/backup/backup.go:445" name={name} namespace=shop '
                     f'progress= resource={res}')
        lines.append(f'time="{t}" level=info msg="Backing up item" backup=velero/{BACKUP} '
                     f'logSource="pkg/backup/item_backupper.go:184" name={name} '
                     f'namespace=shop resource={res}')
        lines.append(f'time="{t}" level=info msg="Backed up {n} items out of an estimated '
                     f'total of {len(items)} (estimate will change throughout the backup)" '
                     f'backup=velero/{BACKUP} logSource="pkg/backup/backup.go:485" '
                     f'name={name} namespace=shop progress= resource={res}')
    lines.append(f'time="2026-01-15T01:00:12Z" level=info msg="Backed up a total of '
                 f'{len(items)} items" backup=velero/{BACKUP} logSource="pkg/backup/'
                 f'backup.go:514" progress=')
    return ("\n".join(lines) + "\n").encode()


LOG = velero_log()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench_cli.py", description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"),
                   help="build directory whose bin/ holds vreq, vreqd, kubesim (default build/)")
    p.add_argument("--rounds", type=int, help="timed rounds (default 20; 2 with --smoke)")
    p.add_argument("--smoke", action="store_true", help="2 rounds, to keep it working")
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                   else sys.executable, help="interpreter of the reference (default "
                   "/usr/bin/python3, which has Debian's python3-kubernetes)")
    a = p.parse_args(argv)
    if a.rounds is None:
        a.rounds = 2 if a.smoke else 20
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    a.bin = os.path.join(os.path.abspath(a.build_dir), "bin")
    return a


def preflight(args):
    """None when everything needed is there, else one line saying what is missing."""
    for prog in ("vreq", "vreqd", "kubesim"):
        if not os.access(os.path.join(args.bin, prog), os.X_OK):
            return f"no {prog} in {args.bin} (build it, or pass --build-dir)"
    if shutil.which("node") is None or not os.path.isdir(
            os.path.join(s3peer.PEER_DIR, "node_modules", "@20minutes", "s3rver")):
        return ("the S3 peer is not installed (needs node >= 20 and test/s3peer/node_modules: "
                "run scripts/s3peer-install)")
    return None


def ref_versions(args):
    """'python X, kubernetes Y (dir)' from the reference's interpreter; BenchError if the
    client is not importable there."""
    r = subprocess.run([args.python, "-c", "import sys, os, kubernetes; print(sys.version."
                        "split()[0], kubernetes.__version__, os.path.dirname(os.path.dirname("
                        "kubernetes.__file__)))"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=RUN_TIMEOUT_S)
    if r.returncode != 0:
        raise BenchError(f"{args.python} cannot import kubernetes (install Debian's "
                         f"python3-kubernetes, or pass --python)",
                         r.stderr.decode(errors="replace")[-2000:])
    py, kube, where = r.stdout.decode().split()
    return f"python3-kubernetes {kube} ({where}), python {py}"


def client_env(home, kubeconfig):
    env = vreqworld.vreq_env(home, KUBECONFIG=kubeconfig)
    for k in list(env):
        if k.lower() in PROXY_VARS:
            del env[k]
    return env


def timed(argv, env, cwd):
    """(wall ms, exit status, stdout bytes, stderr text) of one whole process."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, cwd=cwd, timeout=RUN_TIMEOUT_S)
    ms = (time.perf_counter() - t0) * 1000.0
    return ms, r.returncode, r.stdout, r.stderr.decode(errors="replace")


class Bench:
    def __init__(self, args, world, home):
        self.args, self.world, self.home = args, world, home
        self.env = client_env(home, world.kubeconfig)
        self.cmd = {
            "vreq": [os.path.join(args.bin, "vreq"), "backup", "logs", BACKUP],
            "ref": [args.python, REF, "--timing", BACKUP],
            "import": [args.python, "-c", "import kubernetes"],
            "vreq_start": [os.path.join(args.bin, "vreq"), "--help"],
        }
        self.ms = {"vreq": [], "ref": [], "import": [], "ref_inner": [], "vreq_start": []}

    def run(self, what, record=True):
        ms, rc, out, err = timed(self.cmd[what], self.env, self.home)
        if rc != 0:
            raise BenchError(f"{what}: {' '.join(self.cmd[what])} exited {rc}", err[-3000:])
        if vrproc.SANITIZER_RE.search(err):
            raise BenchError(f"{what}: sanitizer report", err[-3000:])
        if what in ("vreq", "ref"):
            self.check_output(what, out)
        if what == "ref":
            m = REF_MS_RE.search(err)
            if not m:
                raise BenchError("ref: no create-to-deleted-ms line on stderr", err[-3000:])
            if record:
                self.ms["ref_inner"].append(float(m.group(1)))
        if record:
            self.ms[what].append(ms)

    def check_output(self, what, out):
        if out != LOG:
            at = next((i for i, (x, y) in enumerate(zip(out, LOG)) if x != y),
                      min(len(out), len(LOG)))
            raise BenchError(f"{what}: output differs from the uploaded log at byte {at} "
                             f"({len(out)} bytes, expected {len(LOG)})")
        left = [d["metadata"]["name"] for d in self.world.drs()]
        if left:
            raise BenchError(f"{what}: DownloadRequests left behind: {left}")
        if not self.world.vreqd.alive():
            raise BenchError("vreqd exited during the benchmark", self.world.vreqd.tail())

    def go(self):
        for what in ("vreq", "ref", "import", "vreq_start"):
            self.run(what, record=False)  # warm-up: page cache, connections, bytecode
        for i in range(self.args.rounds):
            order = ("vreq", "ref") if i % 2 == 0 else ("ref", "vreq")
            for what in order + ("import", "vreq_start"):
                self.run(what)
            print(f"bench_cli: round {i + 1}/{self.args.rounds}: vreq "
                  f"{self.ms['vreq'][-1]:.1f} ms, reference {self.ms['ref'][-1]:.1f} ms",
                  file=sys.stderr)


def stat(xs):
    return statistics.median(xs), min(xs), max(xs)


def row(label, xs):
    med, lo, hi = stat(xs)
    return f"{label:<46} {med:8.1f} ms  (min {lo:.1f}, max {hi:.1f})"


def report(b, versions):
    ms = b.ms
    gzlen = len(vreqworld.gz(LOG))
    ratio = statistics.median(ms["ref"]) / statistics.median(ms["vreq"])
    per_round = [r / v for r, v in zip(ms["ref"], ms["vreq"])]
    inner = statistics.median(ms["ref_inner"]) / statistics.median(ms["vreq"])
    met = "met" if ratio >= TARGET_RATIO else "MISSED"
    lines = [
        f"bench_cli: `backup logs {BACKUP}`, a {len(LOG)}-byte log ({gzlen} bytes gzipped), "
        f"{b.args.rounds} rounds, wall ms per process: median (min, max)",
        row("vreq backup logs", ms["vreq"]),
        row("ref: velero_logs.py (Velero's algorithm)", ms["ref"]),
        f"    {versions}; 25 ms polling",
        row("  context: python3 -c 'import kubernetes'", ms["import"]),
        row("  context: ref create -> Processed -> deleted", ms["ref_inner"]),
        row("  context: vreq --help (process start, no I/O)", ms["vreq_start"]),
        "ratios:",
        f"  reference / vreq (medians)                 {ratio:8.1f}x  "
        f"(per round: median {statistics.median(per_round):.1f}, min {min(per_round):.1f}, "
        f"max {max(per_round):.1f})",
        f"  ref create -> deleted alone / whole vreq   {inner:8.1f}x  (context: the "
        f"reference's API part only, no interpreter, import or download)",
        f"Targets: vreq >= {TARGET_RATIO:g}x faster than the reference: {met} "
        f"({ratio:.1f}x)",
    ]
    print("\n".join(lines))


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv):
    args = parse_args(argv)
    why = preflight(args)
    if why:
        print(f"bench_cli: {why}", file=sys.stderr)
        return 1
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    os.environ["VR_BIN_DIR"] = args.bin
    os.environ.setdefault("VR_SOURCE_DIR", ROOT)
    tmp = vrproc.workdir("vr-bench-cli-")
    world = None
    try:
        versions = ref_versions(args)
        world = vreqworld.World(tmp.name, {f"backups/{BACKUP}/{BACKUP}-logs.gz":
                                           vreqworld.gz(LOG)}, [BACKUP])
        b = Bench(args, world, tmp.name)
        b.go()
        w, world = world, None
        w.stop(check=True)  # vreqd, kubesim and the peer must exit 0
        report(b, versions)
        return 0
    except BenchError as e:
        print(f"bench_cli: {e.args[0]}", file=sys.stderr)
        if len(e.args) > 1 and e.args[1]:
            print(e.args[1], file=sys.stderr)
        return 1
    except (AssertionError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"bench_cli: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        if world is not None:
            world.stop(check=False)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
