#!/usr/bin/python3
"""vreqd_ssr_test: the ServerStatusRequest controller in a live vreqd against kubesim
(contract.md §4).

Per class, a fresh kubesim (status subresource off or on) and one vreqd with
--server-status-ttl 2s, --server-version and a --plugins-file (YAML or JSON), or neither
(the defaults). Cases:

- a request becomes Processed with exactly one PATCH: serverVersion and plugins as
  configured (in file order), processedTimestamp RFC 3339 UTC whole seconds;
- it is deleted at processedTimestamp + TTL: not before, and within a second after;
- without flags: serverVersion "v" + vreqd's version and the built-in plugin list;
- an invalid --plugins-file makes vreqd exit 1 naming the problem;
- vreqd exits 0 on SIGTERM without sanitizer reports (every class teardown).
"""

import datetime
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import vreqd  # noqa: E402
import vrproc  # noqa: E402
from vrproc import velero_path  # noqa: E402

NS = "velero"
TTL_S = 2
VERSION = "v1.2.3-vreq-test"
PLUGINS = [{"name": "velero.io/aws", "kind": "ObjectStore"},
           {"name": "velero.io/aws", "kind": "VolumeSnapshotter"},
           {"name": "example.io/backup-action", "kind": "BackupItemAction"}]
PLUGINS_YAML = """# comment
- name: velero.io/aws
  kind: ObjectStore
- {name: velero.io/aws, kind: VolumeSnapshotter}
- name: example.io/backup-action
  kind: BackupItemAction
  ignored: key
"""


def ssr(name, status=None):
    o = {"apiVersion": "velero.io/v1", "kind": "ServerStatusRequest",
         "metadata": {"namespace": NS, "name": name}, "spec": {}}
    if status:
        o["status"] = status
    return o


def parse_ts(s):
    if not isinstance(s, str) or len(s) != 20 or not s.endswith("Z"):
        raise AssertionError(f"timestamp {s!r} is not RFC 3339 whole seconds UTC")
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class SsrBase(vreqd.SimAndVreqd):
    """Mixed into unittest.TestCase by each class below (not collected on its own)."""
    WORKDIR_PREFIX = "vr-ssr-"
    PLUGINS_FILE = None   # (file name, text) or None
    EXPECT_VERSION = VERSION
    EXPECT_PLUGINS = PLUGINS

    @classmethod
    def start_vreqd(cls):
        args = ["--server-status-ttl", f"{TTL_S}s", "--log-level", "debug"]
        if cls.PLUGINS_FILE:
            path = os.path.join(cls.dir.name, cls.PLUGINS_FILE[0])
            with open(path, "w") as f:
                f.write(cls.PLUGINS_FILE[1])
            args += ["--plugins-file", path, "--server-version", VERSION]
        return vreqd.Vreqd(cls.dir.name, cls.sim, *args)

    @classmethod
    def started(cls):
        vreqd.poll(lambda: cls.vreqd.readyz()[0], 15, "vreqd to be ready")

    def wait(self, pred, what, timeout=15):
        return self.wait_for(velero_path("serverstatusrequests", NS), pred, timeout, what)

    def test_processed_then_deleted_after_ttl(self):
        names = [f"{self.id().split('.')[-2].lower()}-{i}" for i in range(3)]
        patches0 = self.kube.stats()["requests"]["PATCH"]
        t0 = time.time()
        for n in names:
            self.kube.create(velero_path("serverstatusrequests", NS), ssr(n))

        def processed(objs):
            got = {n: objs.get((NS, n)) for n in names}
            ok = all(o and o.get("status", {}).get("phase") == "Processed"
                     for o in got.values())
            return got if ok else None
        got = self.wait(processed, "the requests to be Processed")
        t1 = time.time()
        for n, o in got.items():
            st = o["status"]
            self.assertEqual(st.get("serverVersion"), self.EXPECT_VERSION, n)
            self.assertEqual(st.get("plugins"), self.EXPECT_PLUGINS, n)
            ts = parse_ts(st.get("processedTimestamp"))
            self.assertGreaterEqual(ts, int(t0) - 1, n)
            self.assertLessEqual(ts, t1 + 1, n)
        self.assertEqual(self.kube.stats()["requests"]["PATCH"] - patches0, len(names),
                         "exactly one PATCH per request")
        due = {n: parse_ts(o["status"]["processedTimestamp"]) + TTL_S for n, o in got.items()}
        self.wait(lambda objs: not any((NS, n) in objs for n in names) or None,
                  "the requests to be deleted")
        for n in names:
            deleted = self.kube.deleted_at.get((NS, n))
            self.assertIsNotNone(deleted, f"{n}: no DELETED event seen")
            self.assertGreaterEqual(deleted, due[n] - 0.2, f"{n}: deleted before its TTL")
            self.assertLessEqual(deleted, due[n] + 1.0, f"{n}: not gone within 1 s of its TTL")


class YamlPluginsTest(SsrBase, unittest.TestCase):
    """Velero 1.9+ CRDs (no status subresource), plugins from YAML."""
    PLUGINS_FILE = ("plugins.yaml", PLUGINS_YAML)


class JsonPluginsStatusSubresourceTest(SsrBase, unittest.TestCase):
    """Velero 1.6-1.8 CRDs (status only through /status), plugins from JSON."""
    SIM_ARGS = ("--status-subresource", "on")
    PLUGINS_FILE = ("plugins.json", json.dumps(PLUGINS))


class DefaultsTest(SsrBase, unittest.TestCase):
    """No --server-version, no --plugins-file."""
    EXPECT_VERSION = None  # set in setUpClass from vreqd --version
    EXPECT_PLUGINS = [{"name": "velero.io/aws", "kind": "ObjectStore"}]

    @classmethod
    def setUpClass(cls):
        out = subprocess.run([os.path.join(os.environ["VR_BIN_DIR"], "vreqd"), "--version"],
                             stdout=subprocess.PIPE, check=True, timeout=10).stdout.decode()
        cls.EXPECT_VERSION = "v" + out.split()[-1]
        super().setUpClass()


class BadPluginsFileTest(unittest.TestCase):
    def test_invalid_plugins_file_exits_1(self):
        with vrproc.workdir("vr-ssr-bad-") as d:
            sim = vrproc.Kubesim(d)
            try:
                path = os.path.join(d, "plugins.yaml")
                with open(path, "w") as f:
                    f.write("- {name: velero.io/aws, kind: Frobnicator}\n")
                p = vreqd.Vreqd(d, sim, "--plugins-file", path, wait_port=False)
                try:
                    p.proc.wait(15)
                except subprocess.TimeoutExpired:
                    p.stop(check=False)
                    self.fail("vreqd kept running with an invalid --plugins-file")
                self.assertEqual(p.proc.returncode, 1, p.tail())
                err = p.stderr()
                self.assertIn("Frobnicator", err)
                self.assertNotRegex(err, vrproc.SANITIZER_RE)
                p.stop(check=False)
            finally:
                sim.stop(check=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
