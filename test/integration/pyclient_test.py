#!/usr/bin/python3
"""pyclient_test: Debian's python3-kubernetes against kubesim.

Loads kubesim's kubeconfig with kubernetes.config, then drives velero.io DownloadRequests
through CustomObjectsApi: create (also with generateName), list, get, merge-patch of the
status, a live watch (ADDED, then MODIFIED after a patch), watches resumed from a
resourceVersion, delete. A second kubesim with --status-subresource on checks the /status
path. Run by /usr/bin/python3 (ctest); exits 77 when `import kubernetes` fails.

Environment: VR_BIN_DIR (kubesim binary), set by test/CMakeLists.txt.
"""

import ctypes
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import unittest

try:
    import kubernetes
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException
except ImportError as exc:  # the one clear line, then "skipped"
    print(f"SKIP: python3-kubernetes is not importable from {sys.executable}: {exc}")
    sys.exit(77)

GROUP, VERSION, NS, PLURAL = "velero.io", "v1", "velero", "downloadrequests"
START_TIMEOUT_S = 30


def _die_with_parent():
    """In the child before exec: SIGTERM it when this test process dies (ctest timeout)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Kubesim:
    """One kubesim process on 127.0.0.1:0 with its kubeconfig in a temp dir."""

    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory(prefix="vr-pyclient-")
        self.kubeconfig = os.path.join(self.dir.name, "kubeconfig")
        self.err = open(os.path.join(self.dir.name, "kubesim.err"), "w+b")
        binary = os.path.join(os.environ["VR_BIN_DIR"], "kubesim")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--kubeconfig-out", self.kubeconfig, *args],
            stdout=subprocess.PIPE, stderr=self.err, preexec_fn=_die_with_parent)
        try:
            self.url = self._wait_listening()
        except Exception:
            self.stop(check=False)
            raise

    def _wait_listening(self):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(START_TIMEOUT_S):
            raise RuntimeError(f"kubesim printed nothing in {START_TIMEOUT_S} s: {self.stderr()}")
        line = self.proc.stdout.readline().decode(errors="replace").strip()
        m = re.fullmatch(r"kubesim listening on (http://\S+)", line)
        if not m:
            raise RuntimeError(f"unexpected first line from kubesim: {line!r}: {self.stderr()}")
        return m.group(1)

    def stderr(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read().decode(errors="replace")[-4000:]

    def stop(self, check=True):
        """SIGTERM; with check, kubesim must exit 0 and without sanitizer reports."""
        problem = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problem = "kubesim did not exit within 10 s of SIGTERM"
        self.proc.stdout.close()
        err = self.stderr()
        if problem is None and self.proc.returncode != 0:
            problem = f"kubesim exited with status {self.proc.returncode} after SIGTERM"
        if problem is None and re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:", err):
            problem = "sanitizer report from kubesim"
        self.err.close()
        self.dir.cleanup()
        if check and problem:
            raise AssertionError(f"{problem}\n--- kubesim stderr ---\n{err}")


def dr_body(name=None, generate_name=None, target="backup-1"):
    meta = {"namespace": NS}
    if name:
        meta["name"] = name
    if generate_name:
        meta["generateName"] = generate_name
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "DownloadRequest", "metadata": meta,
            "spec": {"target": {"kind": "BackupLog", "name": target}}}


STATUS = {"phase": "Processed", "downloadURL": "https://example.invalid/dl",
          "expiration": "2030-01-01T00:00:00Z"}


class SimTestCase(unittest.TestCase):
    """Base: a fresh kubesim per test, and a CustomObjectsApi on its kubeconfig."""

    SIM_ARGS = ()

    def setUp(self):
        self.sim = Kubesim(*self.SIM_ARGS)
        self.addCleanup(self._stop_sim)
        self.api_client = config.new_client_from_config(config_file=self.sim.kubeconfig)
        self.addCleanup(self._close_client)
        self.api = client.CustomObjectsApi(self.api_client)

    def _close_client(self):
        self.api_client.close()
        # ApiClient.close leaves urllib3's keep-alive connections open; close them too.
        self.api_client.rest_client.pool_manager.clear()

    def _stop_sim(self):
        if self.sim:
            sim, self.sim = self.sim, None
            sim.stop(check=True)

    # Short wrappers over the namespaced custom-object calls.
    def create(self, body):
        return self.api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, body)

    def get(self, name):
        return self.api.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name)

    def list(self, **kw):
        return self.api.list_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, **kw)

    def patch(self, name, body):
        return self.api.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name, body)

    def delete(self, name):
        return self.api.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name)

    def events(self, resource_version, timeout_seconds=1):
        """All (type, name, phase) events from resource_version until the server ends the
        stream after timeout_seconds."""
        out = []
        for ev in watch.Watch().stream(self.api.list_namespaced_custom_object, GROUP, VERSION,
                                       NS, PLURAL, resource_version=resource_version,
                                       timeout_seconds=timeout_seconds, _request_timeout=30):
            obj = ev["object"]
            out.append((ev["type"], obj["metadata"]["name"], obj.get("status", {}).get("phase")))
        return out


class CrudAndWatchTest(SimTestCase):
    def test_kubeconfig_context(self):
        contexts, current = config.list_kube_config_contexts(config_file=self.sim.kubeconfig)
        self.assertEqual(current["name"], "kubesim")
        self.assertEqual(current["context"].get("namespace"), NS)
        self.assertEqual(self.api_client.configuration.host.rstrip("/"), self.sim.url.rstrip("/"))

    def test_create_list_get_patch_watch_delete(self):
        created = self.create(dr_body("dr-py"))
        meta = created["metadata"]
        self.assertEqual((created["kind"], meta["name"], meta["namespace"]),
                         ("DownloadRequest", "dr-py", NS))
        self.assertTrue(meta.get("uid"))
        self.assertTrue(meta["resourceVersion"].isdigit())

        listed = self.list()
        self.assertEqual(listed["kind"], "DownloadRequestList")
        self.assertEqual([i["metadata"]["name"] for i in listed["items"]], ["dr-py"])
        self.assertGreaterEqual(int(listed["metadata"]["resourceVersion"]),
                                int(meta["resourceVersion"]))

        got = self.get("dr-py")
        self.assertEqual(got["spec"], {"target": {"kind": "BackupLog", "name": "backup-1"}})
        self.assertEqual(got["metadata"]["uid"], meta["uid"])

        # Live watch with no resourceVersion: the existing object arrives as ADDED; patching
        # it while the stream is open must arrive as MODIFIED carrying the new status.
        w = watch.Watch()
        seen = []
        for ev in w.stream(self.api.list_namespaced_custom_object, GROUP, VERSION, NS, PLURAL,
                           timeout_seconds=20, _request_timeout=30):
            obj = ev["object"]
            seen.append((ev["type"], obj["metadata"]["name"]))
            if ev["type"] == "ADDED" and len(seen) == 1:
                patched = self.patch("dr-py", {"status": STATUS})
                self.assertEqual(patched["status"], STATUS)
            elif ev["type"] == "MODIFIED":
                self.assertEqual(obj["status"], STATUS)
                self.assertEqual(obj["spec"], got["spec"])
                w.stop()
        self.assertEqual(seen, [("ADDED", "dr-py"), ("MODIFIED", "dr-py")])
        self.assertGreater(int(self.get("dr-py")["metadata"]["resourceVersion"]),
                           int(meta["resourceVersion"]))

        deleted = self.delete("dr-py")
        self.assertIsInstance(deleted, dict)
        with self.assertRaises(ApiException) as cm:
            self.get("dr-py")
        self.assertEqual(cm.exception.status, 404)
        self.assertIn("NotFound", cm.exception.body)

    def test_generate_name(self):
        created = self.create(dr_body(generate_name="dr-gen-"))
        name = created["metadata"]["name"]
        self.assertRegex(name, r"^dr-gen-[a-z0-9]{5}$")
        self.assertEqual(self.get(name)["metadata"]["uid"], created["metadata"]["uid"])

    def test_merge_patch_merges(self):
        self.create(dr_body("dr-merge"))
        self.patch("dr-merge", {"status": {"phase": "New"}})
        out = self.patch("dr-merge", {"status": {"downloadURL": "https://example.invalid/x"}})
        self.assertEqual(out["status"], {"phase": "New", "downloadURL": "https://example.invalid/x"})
        self.assertEqual(out["spec"]["target"]["name"], "backup-1")
        out = self.patch("dr-merge", {"status": {"downloadURL": None}})
        self.assertEqual(out["status"], {"phase": "New"})

    def test_get_missing_is_404(self):
        with self.assertRaises(ApiException) as cm:
            self.get("nope")
        self.assertEqual(cm.exception.status, 404)


class ResourceVersionTest(SimTestCase):
    def test_list_and_watch_from_resource_version(self):
        rv0 = self.list()["metadata"]["resourceVersion"]
        a = self.create(dr_body("dr-a"))
        rv_a = a["metadata"]["resourceVersion"]
        self.create(dr_body("dr-b", target="backup-2"))
        self.patch("dr-a", {"status": {"phase": "Processed"}})
        self.delete("dr-b")

        # Listing with a resourceVersion ("not older than") still returns the current state.
        for rv in ("0", rv0, rv_a):
            listed = self.list(resource_version=rv)
            self.assertEqual([i["metadata"]["name"] for i in listed["items"]], ["dr-a"], rv)

        # Resuming yields exactly the events after the given resourceVersion, in order.
        self.assertEqual(self.events(rv0), [("ADDED", "dr-a", None), ("ADDED", "dr-b", None),
                                            ("MODIFIED", "dr-a", "Processed"),
                                            ("DELETED", "dr-b", None)])
        self.assertEqual(self.events(rv_a), [("ADDED", "dr-b", None),
                                             ("MODIFIED", "dr-a", "Processed"),
                                             ("DELETED", "dr-b", None)])
        latest = self.list()["metadata"]["resourceVersion"]
        self.assertEqual(self.events(latest), [])


class StatusSubresourceTest(SimTestCase):
    """Velero ≤ 1.8-style CRDs: status only through /status."""

    SIM_ARGS = ("--status-subresource", "on")

    def test_status_only_through_subresource(self):
        self.create(dr_body("dr-sub"))
        main = self.patch("dr-sub", {"status": {"phase": "Processed"}})
        self.assertNotIn("phase", main.get("status") or {})
        out = self.api.patch_namespaced_custom_object_status(
            GROUP, VERSION, NS, PLURAL, "dr-sub",
            {"status": STATUS, "spec": {"target": {"kind": "BackupLog", "name": "changed"}}})
        self.assertEqual(out["status"], STATUS)
        self.assertEqual(out["spec"]["target"]["name"], "backup-1")
        self.assertEqual(self.get("dr-sub")["status"], STATUS)


if __name__ == "__main__":
    print(f"# python3-kubernetes {kubernetes.__version__} from {sys.executable}")
    unittest.main(verbosity=2)
