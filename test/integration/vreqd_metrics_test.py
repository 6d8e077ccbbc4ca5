#!/usr/bin/python3
"""vreqd_metrics_test: /healthz, /readyz and /metrics of a live vreqd against kubesim
(contract.md §5), with --log-format json.

- /readyz answers 503 "not ready role=leader" while kubesim delays every LIST (a delay
  fault), and 200 once the initial lists have synced; /healthz is 200 throughout.
- /metrics passes `promtool check metrics` with no lint findings (that assertion alone is
  skipped when promtool is missing), has every vreqd_ family, and its counters move as
  requests are processed: reconciles by controller, API requests by verb and code, the
  presign histogram (DownloadRequests signed for a BSL whose endpoint is never contacted),
  cached objects.
- Malformed, oversized and slowloris requests to the metrics port get 400, 431 and 408 (or
  a close) while ServerStatusRequests and DownloadRequests keep being processed.
- Every line vreqd writes to stderr is one JSON object with ts, level, subsys and msg.
- vreqd exits 0 on SIGTERM without sanitizer reports.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import vreqd  # noqa: E402
import vreqworld  # noqa: E402
from vrproc import velero_path  # noqa: E402

NS = "velero"
FAMILIES = ("vreqd_build_info", "vreqd_reconciles_total", "vreqd_reconcile_duration_seconds",
            "vreqd_workqueue_depth", "vreqd_watch_restarts_total", "vreqd_watch_relists_total",
            "vreqd_cached_objects", "vreqd_api_requests_total",
            "vreqd_presign_duration_seconds", "vreqd_leader", "process_resident_memory_bytes",
            "process_cpu_seconds_total", "process_open_fds")


def raw_exchange(port, data, timeout=10, then_wait=True):
    """Sends data on a new connection; returns what came back until close or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while then_wait:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


class MetricsTest(vreqd.SimAndVreqd, unittest.TestCase):
    WORKDIR_PREFIX = "vr-metrics-"
    VREQD_ARGS = ("--log-format", "json", "--log-level", "debug")

    @classmethod
    def seed(cls, kube):
        # The BSL is never contacted: signing is local.
        vreqworld.seed(kube, "http://127.0.0.1:9")
        # Every LIST waits 3 s: vreqd is up, serving, and not yet ready.
        kube.request("POST", "/kubesim/faults", {"method": "LIST", "delay_ms": 3000, "count": 6})

    @classmethod
    def started(cls):
        cls.early_readyz = cls.vreqd.readyz()
        cls.early_healthz = cls.vreqd.get("/healthz")
        cls.ready_after = vreqd.poll(lambda: cls.vreqd.readyz()[0], 20, "readiness")
        cls.kube.request("DELETE", "/kubesim/faults")

    @classmethod
    def after_stop(cls):
        """Every line vreqd wrote is one JSON object with ts, level, subsys and msg."""
        with open(cls.vreqd.err_path, errors="replace") as f:
            lines = f.read().splitlines()
        if len(lines) < 10:
            raise AssertionError(f"only {len(lines)} log lines")
        for line in lines:
            try:
                obj = json.loads(line)
                ok = isinstance(obj, dict) and all(k in obj for k in ("ts", "level", "subsys",
                                                                      "msg"))
            except ValueError:
                ok = False
            if not ok:
                raise AssertionError(f"not a JSON log line: {line[:300]!r}")

    def create(self, tag, n):
        names = [f"{tag}-{i}" for i in range(n)]
        vreqd.create_requests(self.kube, NS, names, "nightly")
        return names

    def wait_processed(self, names, timeout=20):
        for plural in ("serverstatusrequests", "downloadrequests"):
            self.wait_for(velero_path(plural, NS),
                          lambda objs: all(objs.get((NS, n), {}).get("status", {})
                                           .get("phase") == "Processed" for n in names) or None,
                          timeout, f"{plural} to be Processed")

    def test_readyz_before_and_after_sync(self):
        self.assertEqual(self.early_readyz, (False, "leader"))
        self.assertEqual(self.early_healthz, (200, "ok\n"))
        self.assertEqual(self.vreqd.readyz(), (True, "leader"))
        self.assertEqual(self.vreqd.get("/healthz"), (200, "ok\n"))

    def test_counters_move_and_promtool_accepts(self):
        before = self.vreqd.metrics()
        names = self.create("count", 4)
        self.wait_processed(names)
        status, text = self.vreqd.get("/metrics")
        self.assertEqual(status, 200)
        after = vreqd.parse_metrics(text)
        for fam in FAMILIES:
            self.assertIn(f"# TYPE {fam} ", text)

        def delta(name, **labels):
            return vreqd.metric(after, name, **labels) - vreqd.metric(before, name, **labels)
        for ctrl in ("serverstatusrequest", "downloadrequest"):
            self.assertGreaterEqual(delta("vreqd_reconciles_total", controller=ctrl,
                                          result="success"), 4, ctrl)
            self.assertGreaterEqual(delta("vreqd_reconcile_duration_seconds_count",
                                          controller=ctrl), 4, ctrl)
        self.assertGreaterEqual(delta("vreqd_api_requests_total", verb="PATCH", code="200"), 8)
        self.assertGreaterEqual(vreqd.metric(after, "vreqd_api_requests_total", verb="LIST",
                                             code="200"), 6)
        self.assertGreaterEqual(delta("vreqd_presign_duration_seconds_count", provider="aws"), 4)
        self.assertEqual(vreqd.metric(after, "vreqd_cached_objects",
                                      resource="backupstoragelocations"), 1)
        self.assertGreaterEqual(vreqd.metric(after, "vreqd_cached_objects",
                                             resource="serverstatusrequests"), 4)
        self.assertEqual(vreqd.metric(after, "vreqd_leader"), 1)
        self.assertGreater(vreqd.metric(after, "process_resident_memory_bytes"), 1e6)
        if shutil.which("promtool") is None:
            self.skipTest("promtool not found (Debian package prometheus)")
        r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        out = r.stdout.decode(errors="replace")
        self.assertEqual((r.returncode, out), (0, ""), f"promtool check metrics:\n{out}")

    def test_bad_requests_while_processing(self):
        port = self.vreqd.port
        # Slowloris: headers never finish. Open them first, so they span the work below.
        slow = []
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", port), timeout=15)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        t0 = time.monotonic()
        got = raw_exchange(port, b"\x16\x03\x01garbage not http\r\n\r\n")
        self.assertTrue(got.startswith(b"HTTP/1.1 400"), got[:200])
        got = raw_exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                           b"a" * 20000 + b"\r\n\r\n")
        self.assertTrue(got.startswith(b"HTTP/1.1 431"), got[:200])
        got = raw_exchange(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                           b"\r\nhello")
        self.assertRegex(got[:40], rb"^HTTP/1.1 (405|413)")
        names = self.create("busy", 5)
        self.wait_processed(names)
        self.assertEqual(self.vreqd.get("/healthz"), (200, "ok\n"))
        self.assertEqual(self.vreqd.readyz(), (True, "leader"))
        for s in slow:
            got = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except socket.timeout:
                self.fail("a slowloris connection stayed open for 15 s")
            finally:
                s.close()
            self.assertTrue(got == b"" or got.startswith(b"HTTP/1.1 408"), got[:200])
        self.assertLess(time.monotonic() - t0, 12, "slow requests held for too long")


if __name__ == "__main__":
    unittest.main(verbosity=2)
