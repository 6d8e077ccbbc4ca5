#!/usr/bin/python3
"""vreqd_shutdown_test: SIGTERM in the middle of a burst loses nothing (contract.md §5).

kubesim is seeded by vreqworld.seed (credential Secret, BSL pointing at the S3 peer, a
Completed Backup); every PATCH is delayed 20 ms by a kubesim fault so that writes are in
flight when the signal lands. vreqd runs while 1,000 DownloadRequests and 1,000
ServerStatusRequests are created by four threads; once some hundreds are answered, SIGTERM:

- vreqd exits 0 within the stop bound, with no sanitizer report, and not everything was
  done yet (the signal really hit the burst);
- a second vreqd (faults cleared) brings every request to Processed: nothing lost, and it
  writes exactly one PATCH per request that was still unanswered when it started (no
  rewrites of answered ones);
- when the S3 peer is installed (node), a sample of the URLs downloads the stored object.
"""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import s3peer  # noqa: E402
import vreqd  # noqa: E402
import vreqworld  # noqa: E402
import vrproc  # noqa: E402
from vrproc import velero_path  # noqa: E402

NS, BUCKET, N = "velero", "velero", 1000
KEY = "backups/nightly/nightly-logs.gz"
BODY = b"the nightly backup's log\n" * 40


def creator(url, plural, names, errors):
    kube = vrproc.Kube(url)
    try:
        for name in names:
            obj = {"apiVersion": "velero.io/v1", "metadata": {"namespace": NS, "name": name},
                   "spec": {}}
            if plural == "downloadrequests":
                obj["kind"] = "DownloadRequest"
                obj["spec"] = {"target": {"kind": "BackupLog", "name": "nightly"}}
            else:
                obj["kind"] = "ServerStatusRequest"
            kube.create(velero_path(plural, NS), obj)
    except Exception as e:  # reported by the test
        errors.append(repr(e))


def processed(obj):
    return (obj or {}).get("status", {}).get("phase") == "Processed"


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        self.dir = vrproc.workdir("vr-shutdown-")
        self.peer = self.sim = self.vreqd = None
        why = s3peer.ensure_installed()
        if why is None:
            self.peer = s3peer.S3Peer(self.dir.name, buckets=[BUCKET])
            s3peer.put_object(self.peer.host, BUCKET, KEY, BODY)
        else:
            print(f"note: no S3 peer ({why}); URLs are not downloaded")
        self.sim = vrproc.Kubesim(self.dir.name)
        self.kube = self.sim.kube
        vreqworld.seed(self.kube, self.peer.url if self.peer else "http://127.0.0.1:9")

    def tearDown(self):
        # A vreqd that has exited already was checked by the test itself.
        first = self.vreqd if self.vreqd and self.vreqd.alive() else None
        try:
            vreqd.stop_all((first, self.sim, self.peer), check=True)
        finally:
            self.dir.cleanup()

    def start_vreqd(self, name):
        self.vreqd = vreqd.Vreqd(self.dir.name, self.sim, "--server-status-ttl", "10m",
                                 name=name)
        return self.vreqd

    def answered(self):
        got = {}
        for plural in ("downloadrequests", "serverstatusrequests"):
            items = self.kube.get(velero_path(plural, NS))["items"]
            got[plural] = [o for o in items if processed(o)]
        return got

    def test_sigterm_during_burst_loses_nothing(self):
        self.kube.request("POST", "/kubesim/faults",
                          {"method": "PATCH", "delay_ms": 20, "count": 100000})
        first = self.start_vreqd("vreqd-1")
        errors, threads = [], []
        for plural in ("downloadrequests", "serverstatusrequests"):
            for half in range(2):
                names = [f"{plural[:3]}-{i}" for i in range(half * N // 2, (half + 1) * N // 2)]
                t = threading.Thread(target=creator, args=(self.sim.url, plural, names, errors))
                t.start()
                threads.append(t)
        vreqd.poll(lambda: first.metric("vreqd_reconciles_total", result="success") >= 300,
                   30, "300 reconciles")
        first.stop(check=True)  # SIGTERM mid-burst: exit 0, no sanitizer report
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        done = self.answered()
        left = 2 * N - sum(len(v) for v in done.values())
        print(f"answered at SIGTERM: {[len(v) for v in done.values()]}, left {left}", file=sys.stderr)
        self.assertGreater(left, 0, "the burst was over before SIGTERM: nothing tested")
        self.assertGreater(sum(len(v) for v in done.values()), 0)
        with open(first.err_path, errors="replace") as f:
            log = f.read()
        self.assertIn("vreqd stopped exit=0", log)

        self.kube.request("DELETE", "/kubesim/faults")
        patches0 = self.kube.stats()["requests"]["PATCH"]
        second = self.start_vreqd("vreqd-2")
        for plural in ("downloadrequests", "serverstatusrequests"):
            self.kube.wait(velero_path(plural, NS),
                           lambda objs: (len(objs) == N and
                                         all(processed(o) for o in objs.values())
                                         and objs) or None,
                           45, f"all {N} {plural} to be Processed",
                           abort=lambda: None if second.alive() else "vreqd-2 exited")
        self.assertEqual(self.kube.stats()["requests"]["PATCH"] - patches0, left,
                         "one PATCH per request left unanswered, none for answered ones")
        if self.peer:
            drs = self.kube.get(velero_path("downloadrequests", NS))["items"]
            for o in drs[:: N // 10]:
                status, body = s3peer.http_get(o["status"]["downloadURL"])
                self.assertEqual((status, body), (200, BODY), o["metadata"]["name"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
