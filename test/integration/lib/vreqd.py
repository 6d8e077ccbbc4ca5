"""test/integration/lib/vreqd.py — vreqd as a child process with its /healthz, /readyz and
/metrics endpoints, for python integration tests (builds on vrproc.py).

- Vreqd(workdir, sim, *args, name="vreqd"): $VR_BIN_DIR/vreqd against kubesim `sim` with
  --metrics-addr 127.0.0.1:0 (unless args name another); .port is read from its log line
  "serving /healthz /readyz /metrics addr=... port=P" (text or JSON format).
- get(port, path) -> (status, body text); readyz(port) -> (ready bool, role str).
- parse_metrics(text) -> {(name, frozenset(labels.items())): value}; metric(samples, name,
  **labels) sums the matching samples.
- poll(fn, timeout, what): calls fn until it returns a truthy value (short sleeps: these are
  black-box tests of another process, there is nothing to wait on).
- stop_all(procs, check): stops each process in order (None skipped), every one even when
  an earlier one fails; with check, one AssertionError naming every problem.
- SimAndVreqd: a unittest.TestCase mixin, one kubesim and one vreqd per class (seed() before
  vreqd starts, started() after; the class's teardown checks both exit 0), with
  vreqd_gone(), fail_context() and wait_for(path, pred, timeout, what).
- create_requests(kube, ns, names, target): a ServerStatusRequest and a BackupLog
  DownloadRequest for target.format(name=name) under each name.

Import with sys.path.insert(0, <dir of this file>).
"""

import http.client
import os
import re
import time

import vrproc

PORT_RE = re.compile(r"serving /healthz /readyz /metrics addr=\S+ port=(\d+)")
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def poll(fn, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def clean_env(home):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("KUBECONFIG", "VELERO_NAMESPACE")}
    env.update(HOME=home, AWS_EC2_METADATA_DISABLED="true")
    return env


class Vreqd(vrproc.Proc):
    """vreqd with its endpoints on a free port (.port)."""

    def __init__(self, workdir, sim, *args, name="vreqd", wait_port=True):
        binary = os.path.join(os.environ["VR_BIN_DIR"], "vreqd")
        if not os.access(binary, os.X_OK):
            raise AssertionError(f"no vreqd binary at {binary}")
        argv = [binary, "--kubeconfig", sim.kubeconfig, "--namespace", "velero"]
        if "--metrics-addr" not in args:
            argv += ["--metrics-addr", "127.0.0.1:0"]
        argv += list(args)
        super().__init__(name, argv, workdir, env=clean_env(workdir))
        self.port = None
        if wait_port:
            try:
                self.port = int(poll(self._port, 15, f"{name}'s metrics port").group(1))
            except AssertionError as e:
                tail = self.tail()  # before stop(), which closes the stderr file
                self.stop(check=False)
                raise AssertionError(f"{e}\n{tail}") from None

    def _port(self):
        if not self.alive():
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}\n"
                                 f"{self.tail()}")
        return PORT_RE.search(self.stderr())

    def get(self, path):
        return get(self.port, path)

    def readyz(self):
        return readyz(self.port)

    def metrics(self):
        status, body = self.get("/metrics")
        if status != 200:
            raise AssertionError(f"{self.name} /metrics -> {status}: {body[:300]!r}")
        return parse_metrics(body)

    def metric(self, name, **labels):
        return metric(self.metrics(), name, **labels)


def get(port, path, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def readyz(port):
    """(ready, role) from /readyz: 200 "ok role=R" or 503 "not ready role=R"."""
    status, body = get(port, "/readyz")
    m = re.fullmatch(r"(ok|not ready) role=(\S+)\n", body)
    if not m or (status == 200) != (m.group(1) == "ok") or status not in (200, 503):
        raise AssertionError(f"/readyz -> {status} {body!r}")
    return status == 200, m.group(2)


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError(f"unparsable sample line {line!r}")
        labels = frozenset(LABEL_RE.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(samples, name, **labels):
    """Sum of the samples of name whose labels include all of labels (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def stop_all(procs, check=True):
    """Stops every process of procs in order (None entries skipped), each one even when an
    earlier one failed. With check, raises one AssertionError naming every problem (an exit
    status other than 0, a sanitizer report)."""
    problems = []
    for p in procs:
        if p is None:
            continue
        try:
            p.stop(check=check)
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        raise AssertionError("\n".join(problems))


class SimAndVreqd:
    """Mixed into a unittest.TestCase (put it first): one kubesim and one vreqd per class.

    setUpClass makes a work dir (WORKDIR_PREFIX), starts kubesim with SIM_ARGS (.sim,
    .kube), calls seed(kube), starts vreqd with start_vreqd() (default: Vreqd with
    VREQD_ARGS) and calls started(); when any of it fails, whatever started is stopped
    again. tearDownClass stops vreqd, then kubesim: both must exit 0 without sanitizer
    reports; after a clean stop after_stop() runs while the logs are still there, and the
    work dir goes last."""

    WORKDIR_PREFIX = "vr-"
    SIM_ARGS = ()
    VREQD_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.dir = vrproc.workdir(cls.WORKDIR_PREFIX)
        cls.sim = cls.vreqd = None
        try:
            cls.sim = vrproc.Kubesim(cls.dir.name, *cls.SIM_ARGS)
            cls.kube = cls.sim.kube
            cls.seed(cls.kube)
            cls.vreqd = cls.start_vreqd()
            cls.started()
        except BaseException:
            cls.stop_all(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_all(check=True)

    @classmethod
    def seed(cls, kube):
        """Creates what must exist before vreqd starts (nothing by default)."""

    @classmethod
    def start_vreqd(cls):
        return Vreqd(cls.dir.name, cls.sim, *cls.VREQD_ARGS)

    @classmethod
    def started(cls):
        """Runs once vreqd has started (nothing by default)."""

    @classmethod
    def after_stop(cls):
        """Runs after vreqd and kubesim stopped cleanly, before the work dir is removed."""

    @classmethod
    def stop_all(cls, check):
        """vreqd first, then kubesim; always both, then the work dir."""
        try:
            stop_all((cls.vreqd, cls.sim), check)
            if check:
                cls.after_stop()
        finally:
            cls.vreqd = cls.sim = None
            cls.dir.cleanup()

    def vreqd_gone(self):
        """For Kube.wait's abort: why vreqd is not running any more, or None."""
        if self.vreqd.alive():
            return None
        return f"vreqd exited with status {self.vreqd.proc.returncode}"

    def fail_context(self):
        alive = "running" if self.vreqd.alive() else f"EXITED ({self.vreqd.proc.returncode})"
        return f"vreqd is {alive}\n{self.vreqd.tail()}"

    def wait_for(self, path, pred, timeout, what):
        """Kube.wait on the collection path, given up as soon as vreqd exits; a failure
        carries vreqd's state and log tail."""
        try:
            return self.kube.wait(path, pred, timeout, what, abort=self.vreqd_gone)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.fail_context()}") from None


def create_requests(kube, ns, names, target):
    """For each name, a ServerStatusRequest and a DownloadRequest for the BackupLog of
    Backup target.format(name=name), both called name."""
    for name in names:
        kube.create(vrproc.velero_path("serverstatusrequests", ns), {
            "apiVersion": "velero.io/v1", "kind": "ServerStatusRequest",
            "metadata": {"namespace": ns, "name": name}, "spec": {}})
        kube.create(vrproc.velero_path("downloadrequests", ns), {
            "apiVersion": "velero.io/v1", "kind": "DownloadRequest",
            "metadata": {"namespace": ns, "name": name},
            "spec": {"target": {"kind": "BackupLog", "name": target.format(name=name)}}})
