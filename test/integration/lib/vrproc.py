"""test/integration/lib/vrproc.py — child processes and a small Kubernetes REST client for
python integration tests.

- Proc: one child process that dies with the test (prctl PR_SET_PDEATHSIG), whose stderr is
  kept in a file and whose first stdout line announces readiness; stop() sends SIGTERM and
  checks the exit status and sanitizer reports.
- Kubesim: $VR_BIN_DIR/kubesim on 127.0.0.1:0 with a kubeconfig in a temp dir.
- Kube: JSON requests to the emulator (create/get/patch/delete/list) and wait(), which lists
  then watches a collection until a predicate over the current objects holds or a deadline
  passes (no sleep-polling).

Import with sys.path.insert(0, <dir of this file>).
"""

import ctypes
import http.client
import json
import os
import re
import selectors
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
WATCH_SLICE_S = 2  # watch streams are this short so abort() is checked often
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:")


def die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies (ctest timeout)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Proc:
    """A child process; `ready_re` matched against its first stdout line (None: no wait).

    stdout after the first line is drained by a thread into self.out (never blocks the
    child); stderr goes to a file in `workdir`."""

    def __init__(self, name, argv, workdir, ready_re=None, env=None, timeout=START_TIMEOUT_S):
        self.name, self.argv = name, argv
        self.err_path = os.path.join(workdir, f"{name}.err")
        self.err = open(self.err_path, "w+b")
        self.out = []
        self.ready = None
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err, env=env, preexec_fn=die_with_parent)
        try:
            if ready_re is not None:
                self.ready = self._wait_ready(ready_re, timeout)
        except Exception:
            self.stop(check=False)
            raise
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()

    def _wait_ready(self, ready_re, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ok = sel.select(timeout)
        sel.close()
        if not ok:
            raise RuntimeError(f"{self.name} printed nothing in {timeout} s\n{self.tail()}")
        line = self.proc.stdout.readline().decode(errors="replace").rstrip("\n")
        m = re.fullmatch(ready_re, line)
        if not m:
            self.proc.wait(2) if self.proc.poll() is None else None
            raise RuntimeError(f"{self.name}: unexpected first line {line!r} "
                               f"(exit {self.proc.poll()})\n{self.tail()}")
        return m

    def _drain_stdout(self):
        for line in self.proc.stdout:
            self.out.append(line.decode(errors="replace"))

    def stderr(self):
        """All of the child's stderr so far."""
        self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def tail(self, n=6000):
        return f"--- {self.name} stderr (tail) ---\n{self.stderr()[-n:]}"

    def alive(self):
        return self.proc.poll() is None

    def stop(self, check=True, sig=signal.SIGTERM):
        """Send sig, wait; with check the child must exit 0 in time, without sanitizer reports.
        Always reaps the child (SIGKILL as the last resort). Returns the exit status."""
        problem = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problem = f"{self.name} did not exit within {STOP_TIMEOUT_S} s of signal {sig}"
        elif check:
            problem = f"{self.name} had already exited with status {self.proc.returncode}"
        rc = self.proc.returncode
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.join(2)  # EOF follows the exit unless a grandchild still holds the pipe
        if not drain or not drain.is_alive():
            self.proc.stdout.close()
        if problem is None and rc != 0:
            problem = f"{self.name} exited with status {rc} after signal {sig}"
        err = self.stderr()
        tail = self.tail()
        if problem is None and SANITIZER_RE.search(err):
            problem = f"sanitizer report from {self.name}"
        self.err.close()
        if check and problem:
            raise AssertionError(f"{problem}\n{tail}")
        return rc


class Kubesim(Proc):
    """kubesim on 127.0.0.1:0; .url, .kubeconfig, .kube (a Kube client)."""

    def __init__(self, workdir, *args):
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        binary = os.path.join(os.environ["VR_BIN_DIR"], "kubesim")
        super().__init__("kubesim", [binary, "--listen", "127.0.0.1:0", "--kubeconfig-out",
                                     self.kubeconfig, *args], workdir,
                         ready_re=r"kubesim listening on (http://\S+)")
        self.url = self.ready.group(1)
        self.kube = Kube(self.url)


class ApiError(Exception):
    def __init__(self, code, body):
        super().__init__(f"HTTP {code}: {body[:500]!r}")
        self.code, self.body = code, body


def velero_path(plural, ns=None, name=None):
    """/apis/velero.io/v1[/namespaces/NS]/PLURAL[/NAME]"""
    return _path("/apis/velero.io/v1", plural, ns, name)


def core_path(plural, ns=None, name=None):
    return _path("/api/v1", plural, ns, name)


def _path(base, plural, ns, name):
    p = base + (f"/namespaces/{ns}" if ns else "") + f"/{plural}"
    return p + (f"/{urllib.parse.quote(name, safe='')}" if name else "")


class Kube:
    """Plain-JSON client for kubesim (no TLS); token: a bearer token (kubesim --token)."""

    def __init__(self, url, token=None):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method, path, body=None, ctype="application/json", timeout=10):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Accept": "application/json", **self.auth}
            if data is not None:
                headers["Content-Type"] = ctype
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read().decode(errors="replace")
        finally:
            conn.close()
        if resp.status >= 300:
            raise ApiError(resp.status, raw)
        return json.loads(raw) if raw else None

    def create(self, path, obj):
        return self.request("POST", path, obj)

    def get(self, path):
        return self.request("GET", path)

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, ctype="application/merge-patch+json")

    def delete(self, path):
        return self.request("DELETE", path)

    def stats(self):
        return self.request("GET", "/kubesim/stats")

    def wait(self, coll_path, pred, timeout, what="condition", abort=None):
        """List coll_path, then watch it, keeping {(ns, name): obj}; return pred(objs) as soon
        as it is truthy. AssertionError naming `what` and the objects when the deadline passes,
        or at once when abort() returns a reason (checked at least every WATCH_SLICE_S).
        Deleted objects leave the dict; self.deleted_at[(ns, name)] records when (epoch)."""
        deadline = time.monotonic() + timeout
        self.deleted_at = {}
        listed = self.get(coll_path)
        objs = {_key(o): o for o in listed.get("items", [])}
        rv = listed["metadata"]["resourceVersion"]
        while True:
            got = pred(objs)
            if got:
                return got
            why = abort() if abort else None
            if why:
                raise AssertionError(f"gave up waiting for {what}: {why}")
            if deadline - time.monotonic() <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; "
                                     f"objects now: {_dump(objs)}")
            rv = self._watch_some(coll_path, rv, objs, pred, deadline)

    def _watch_some(self, coll_path, rv, objs, pred, deadline):
        """One watch stream from rv, at most WATCH_SLICE_S long (the server ends it); returns
        the last resourceVersion seen when it ends or pred holds."""
        left = deadline - time.monotonic()
        slice_s = max(1, min(WATCH_SLICE_S, int(left + 0.999)))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=slice_s + 10)
        try:
            q = urllib.parse.urlencode({"watch": "1", "resourceVersion": rv,
                                        "timeoutSeconds": str(slice_s),
                                        "allowWatchBookmarks": "true"})
            conn.request("GET", f"{coll_path}?{q}", headers=self.auth)
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError(resp.status, resp.read().decode(errors="replace"))
            for line in iter(resp.readline, b""):
                ev = json.loads(line)
                obj = ev["object"]
                if ev["type"] == "ERROR":
                    raise AssertionError(f"watch error event: {line!r}")
                rv = obj["metadata"].get("resourceVersion", rv)
                if ev["type"] in ("ADDED", "MODIFIED"):
                    objs[_key(obj)] = obj
                elif ev["type"] == "DELETED":
                    objs.pop(_key(obj), None)
                    self.deleted_at[_key(obj)] = time.time()
                if ev["type"] != "BOOKMARK" and pred(objs):
                    break
        finally:
            conn.close()
        return rv


def _dump(objs, cap=6000):
    """The objects for an error message, keyed ns/name, capped."""
    text = json.dumps({"/".join(k): o for k, o in objs.items()}, indent=1)
    return text if len(text) <= cap else text[:cap] + "\n..."


def _key(obj):
    md = obj["metadata"]
    return (md.get("namespace", ""), md["name"])


def workdir(prefix):
    """A TemporaryDirectory for one test's files."""
    return tempfile.TemporaryDirectory(prefix=prefix)
