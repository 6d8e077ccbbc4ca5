#!/usr/bin/python3
"""vreq_describe_test: `vreq backup describe`, `restore describe`, `version` and `plugin get`
end to end against kubesim + the verifying S3 peer + vreqd.

- The Backups, Restores and stored files of test/fixtures/describe/e2e-world.json are
  created in kubesim and uploaded (gzipped) under Velero's object keys; `vreq backup|restore
  describe NAME [--details]` with TZ=UTC must print test/fixtures/describe/e2e-*.expected
  byte for byte, and must have fetched exactly the files Velero's describer asks for, in
  Velero's order (seen on a watch of the DownloadRequests), each request deleted after use;
- missing files show Velero's inline messages (b3: no file is stored at all; r2: only an
  empty RestoreVolumeInfo);
- the time zone is the local one (TZ changes the Started line);
- `vreq version` prints the client version and vreqd's --server-version; `plugin get`
  prints vreqd's --plugins-file (YAML, unsorted, several kinds) sorted by kind then name,
  as a table and with -o json as the list;
- with no vreqd, `version --timeout 1s` and `plugin get --timeout 1s` fail after about 1 s
  with exit 1 and one clear line;
- at the end no DownloadRequest is left.
Set VR_DESCRIBE_DUMP=DIR to also write every describe output to DIR (for review).
Exits 77 only when the S3 peer cannot be installed.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import s3peer  # noqa: E402
import vreqworld  # noqa: E402
import vrproc  # noqa: E402
from vreqworld import gz, vreq_env  # noqa: E402
from vrproc import velero_path  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("VR_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "../.."))
FIXTURES = os.environ.get("VR_FIXTURES") or os.path.join(SOURCE_DIR, "test", "fixtures")
DESCRIBE = os.path.join(FIXTURES, "describe")
NS = vreqworld.NS
DR_PATH = velero_path("downloadrequests", NS)
SERVER_VERSION = "v1.18.2"
# vreqd's --plugins-file: several kinds, deliberately unsorted.
PLUGINS_YAML = """\
- name: velero.io/pod
  kind: BackupItemAction
- name: velero.io/aws
  kind: VolumeSnapshotter
- kind: ObjectStore
  name: velero.io/aws
- name: velero.io/change-storage-class
  kind: RestoreItemAction
- name: velero.io/add-pvc-from-pod
  kind: RestoreItemAction
- name: velero.io/crd-remap-version
  kind: BackupItemAction
- name: velero.io/dataupload
  kind: BackupItemActionV2
"""
PLUGINS_SORTED = [
    {"name": "velero.io/crd-remap-version", "kind": "BackupItemAction"},
    {"name": "velero.io/pod", "kind": "BackupItemAction"},
    {"name": "velero.io/dataupload", "kind": "BackupItemActionV2"},
    {"name": "velero.io/aws", "kind": "ObjectStore"},
    {"name": "velero.io/add-pvc-from-pod", "kind": "RestoreItemAction"},
    {"name": "velero.io/change-storage-class", "kind": "RestoreItemAction"},
    {"name": "velero.io/aws", "kind": "VolumeSnapshotter"},
]


def load_world():
    with open(os.path.join(DESCRIBE, "e2e-world.json"), "rb") as f:
        world = json.load(f)
    objects = {}
    for key, value in world["objects"].items():
        if isinstance(value, str) and value.startswith("@"):
            with open(os.path.join(DESCRIBE, value[1:]), "rb") as f:
                raw = f.read()
        else:
            raw = json.dumps(value, separators=(",", ":")).encode()
        objects[key] = gz(raw)
    return world, objects


def client_version():
    """PROJECT_VERSION from the top CMakeLists.txt (what vreq is built with)."""
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
        m = re.search(r"project\(vreq VERSION (\S+)", f.read())
    return m.group(1)


def setUpModule():
    why = s3peer.ensure_installed()
    if why:
        print(f"SKIP: {why}")
        sys.exit(77)


class Base(unittest.TestCase):
    START_VREQD = True

    @classmethod
    def setUpClass(cls):
        cls.dir = vrproc.workdir("vr-describe-")
        cls.home = cls.dir.name
        cls.spec, objects = load_world()
        cls.world = vreqworld.World(cls.home, objects, [], {}, start_vreqd=False)
        try:
            k = cls.world.kube
            for b in cls.spec["backups"]:
                k.create(velero_path("backups", NS), b)
            for r in cls.spec["restores"]:
                k.create(velero_path("restores", NS), r)
            if cls.START_VREQD:
                cls.start_vreqd()
        except BaseException:
            cls.world.stop(check=False)
            cls.dir.cleanup()
            raise
        cls.kc = ["--kubeconfig", cls.world.kubeconfig]

    @classmethod
    def start_vreqd(cls):
        plugins = os.path.join(cls.home, "plugins.yaml")
        with open(plugins, "w") as f:
            f.write(PLUGINS_YAML)
        binary = os.path.join(os.environ["VR_BIN_DIR"], "vreqd")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("KUBECONFIG", "VELERO_NAMESPACE")}
        env.update(HOME=cls.home, AWS_EC2_METADATA_DISABLED="true")
        cls.world.vreqd = vrproc.Proc(
            "vreqd", [binary, "--kubeconfig", cls.world.kubeconfig, "--namespace", NS,
                      "--metrics-addr", "0", "--server-version", SERVER_VERSION,
                      "--plugins-file", plugins], cls.home, env=env)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.world.stop(check=True)
        finally:
            cls.dir.cleanup()

    def vreq(self, *args, tz="UTC", timeout=60):
        binary = os.path.join(os.environ["VR_BIN_DIR"], "vreq")
        r = subprocess.run([binary, *self.kc, *args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           cwd=self.home, env=vreq_env(self.home, TZ=tz))
        err = r.stderr.decode(errors="replace")
        self.assertNotRegex(err, vrproc.SANITIZER_RE)
        return r.returncode, r.stdout, err

    def dr_names(self):
        return [d["metadata"]["name"] for d in self.world.kube.get(DR_PATH)["items"]]

    def assert_no_requests(self):
        self.assertEqual(self.dr_names(), [], "DownloadRequests left behind")


def dr_history(kube, rv, seconds=1):
    """The DownloadRequest events after resourceVersion rv: a watch that the server ends
    after `seconds`. Returns (created [(name, kind, target name)] in order, deleted names)."""
    conn = http.client.HTTPConnection(kube.host, kube.port, timeout=seconds + 10)
    created, deleted = [], set()
    try:
        q = urllib.parse.urlencode({"watch": "1", "resourceVersion": rv,
                                    "timeoutSeconds": str(seconds)})
        conn.request("GET", f"{DR_PATH}?{q}")
        resp = conn.getresponse()
        if resp.status != 200:
            raise AssertionError(f"watch -> {resp.status}: {resp.read()[:300]!r}")
        for line in iter(resp.readline, b""):
            ev = json.loads(line)
            obj = ev["object"]
            if ev["type"] == "ADDED":
                t = obj["spec"]["target"]
                created.append((obj["metadata"]["name"], t["kind"], t["name"]))
            elif ev["type"] == "DELETED":
                deleted.add(obj["metadata"]["name"])
            elif ev["type"] == "ERROR":
                raise AssertionError(f"watch error event {line!r}")
    finally:
        conn.close()
    return created, deleted


# (command, name, --details, expected file, the kinds Velero's describer fetches in order)
DESCRIBES = [
    ("backup", "b1", True, "e2e-backup-b1-details.expected",
     ["BackupResults", "BackupItemOperations", "BackupResourceList", "BackupVolumeInfos"]),
    ("backup", "b1", False, "e2e-backup-b1.expected",
     ["BackupResults", "BackupVolumeInfos"]),
    ("backup", "b2", True, "e2e-backup-b2-legacy-details.expected",
     ["BackupResourceList", "BackupVolumeInfos", "BackupVolumeSnapshots",
      "CSIBackupVolumeSnapshots", "CSIBackupVolumeSnapshotContents"]),
    ("backup", "b3", True, "e2e-backup-b3-missing-details.expected",
     ["BackupResults", "BackupItemOperations", "BackupResourceList", "BackupVolumeInfos",
      "BackupVolumeSnapshots"]),
    ("restore", "r1", True, "e2e-restore-r1-details.expected",
     ["RestoreResults", "RestoreVolumeInfo", "RestoreItemOperations", "RestoreResourceList"]),
    ("restore", "r1", False, "e2e-restore-r1.expected",
     ["RestoreResults", "RestoreVolumeInfo"]),
    ("restore", "r2", True, "e2e-restore-r2-missing-details.expected",
     ["RestoreResults", "RestoreVolumeInfo", "RestoreItemOperations", "RestoreResourceList"]),
]


class Describe(Base):
    def run_describe(self, cmd, name, details, expected_file, kinds):
        rv = self.world.kube.get(DR_PATH)["metadata"]["resourceVersion"]
        args = [cmd, "describe", name] + (["--details"] if details else [])
        rc, out, err = self.vreq(*args)
        dump = os.environ.get("VR_DESCRIBE_DUMP")
        if dump:
            with open(os.path.join(dump, expected_file), "wb") as f:
                f.write(out)
        self.assertEqual((rc, err), (0, ""), args)
        with open(os.path.join(DESCRIBE, expected_file), "rb") as f:
            want = f.read()
        self.maxDiff = None
        self.assertEqual(out.decode(), want.decode(), f"{args} vs {expected_file}")
        self.assertEqual(out, want)
        created, deleted = dr_history(self.world.kube, rv)
        self.assertEqual([k for _, k, _ in created], kinds, "files fetched")
        self.assertEqual({t for _, _, t in created}, {name})
        for dr, _, _ in created:
            self.assertRegex(dr, rf"^{name}-[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-"
                                 r"[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertEqual(deleted, {n for n, _, _ in created}, "requests not deleted")
        self.assert_no_requests()

    def test_backup_b1_details(self):
        self.run_describe(*DESCRIBES[0])

    def test_backup_b1(self):
        self.run_describe(*DESCRIBES[1])

    def test_backup_b2_legacy_details(self):
        self.run_describe(*DESCRIBES[2])

    def test_backup_b3_missing_files(self):
        self.run_describe(*DESCRIBES[3])

    def test_restore_r1_details(self):
        self.run_describe(*DESCRIBES[4])

    def test_restore_r1(self):
        self.run_describe(*DESCRIBES[5])

    def test_restore_r2_missing_files(self):
        self.run_describe(*DESCRIBES[6])

    def test_inline_messages_for_missing_files(self):
        """The inline messages, spelled out here as well as in the expected files."""
        rc, out, err = self.vreq("backup", "describe", "b3", "--details")
        self.assertEqual((rc, err), (0, ""))
        text = out.decode()
        for line in ("Errors:    0\nWarnings:  1\n",
                     "Backup Item Operations:  <error getting operation info: file not found>\n",
                     "Resource List:           <backup resource list not found>\n",
                     "Backup Volumes:\n  <error concluding native snapshot info: error to "
                     "download native snapshot info: file not found>\n"):
            self.assertIn(line, text)
        rc, out, err = self.vreq("restore", "describe", "r2", "--details")
        self.assertEqual((rc, err), (0, ""))
        text = out.decode()
        # No blank line before Warnings here, so it aligns with Started/Completed (Velero's
        # describeRestoreResults prints no Println before an error).
        for line in ("Completed:  2026-01-06 08:00:30 +0000 UTC\n"
                     "Warnings:   <error getting warnings: file not found>\n\n"
                     "Errors:  <error getting errors: file not found>\n",
                     "\nCSI Snapshot Restores: <none included>\n",  # the file holds []
                     "Restore Item Operations:  <error getting operation info: file not found>\n",
                     "Resource List:  <restore resource list not found>\n"):
            self.assertIn(line, text)
        self.assert_no_requests()

    def test_local_time_zone(self):
        rc, out, err = self.vreq("backup", "describe", "b3", tz="Asia/Tokyo")
        self.assertEqual((rc, err), (0, ""))
        self.assertIn(b"Started:    2026-01-05 19:00:00 +0900 JST\n", out)
        self.assertIn(b"Expiration:  2026-02-04 19:00:00 +0900 JST\n", out)

    def test_not_found(self):
        rc, out, err = self.vreq("backup", "describe", "absent")
        self.assertEqual((rc, out), (1, b""))
        self.assertEqual(err, 'An error occurred: backups.velero.io "absent" not found\n')
        rc, out, err = self.vreq("restore", "describe", "absent", "--details")
        self.assertEqual((rc, out), (1, b""))
        self.assertEqual(err, 'An error occurred: restores.velero.io "absent" not found\n')

    def test_zz_no_requests_left(self):
        # Runs last (unittest sorts by name): nothing any describe created is left.
        self.assert_no_requests()


class VersionAndPlugins(Base):
    def test_version(self):
        rc, out, err = self.vreq("version")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.decode(), f"Client:\n\tVersion: {client_version()}\n"
                                       f"Server:\n\tVersion: {SERVER_VERSION}\n")
        rc, out, err = self.vreq("version", "--client-only")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.decode(), f"Client:\n\tVersion: {client_version()}\n")

    def test_plugin_get_table(self):
        rc, out, err = self.vreq("plugin", "get")
        self.assertEqual((rc, err), (0, ""))
        # kubectl's printer: columns padded to the widest cell + 3, the last one not at all.
        rows = [("NAME", "KIND")] + [(p["name"], p["kind"]) for p in PLUGINS_SORTED]
        width = max(len(n) for n, _ in rows) + 3
        self.assertEqual(out.decode(), "".join(f"{n.ljust(width)}{k}\n" for n, k in rows))
        rc, out2, err = self.vreq("plugin", "get", "-o", "table")
        self.assertEqual((rc, out2, err), (0, out, ""))

    def test_plugin_get_json(self):
        rc, out, err = self.vreq("plugin", "get", "-o", "json")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(json.loads(out), PLUGINS_SORTED)
        self.assertEqual(out.decode(), json.dumps(PLUGINS_SORTED, indent=4) + "\n")
        rc, out, err = self.vreq("plugin", "get", "-o", "yaml")
        self.assertEqual((rc, out), (2, b""))
        self.assertTrue(err.startswith("Error: "), err)

    def test_zz_no_requests_left(self):
        self.assert_no_requests()


class NoVreqd(Base):
    START_VREQD = False

    def timed(self, *args):
        t0 = time.monotonic()
        rc, out, err = self.vreq(*args, "--timeout", "1s")
        return rc, out, err, time.monotonic() - t0

    def test_version_times_out(self):
        rc, out, err, took = self.timed("version")
        self.assertEqual(rc, 1, err)
        self.assertEqual(out.decode(), f"Client:\n\tVersion: {client_version()}\n")
        self.assertRegex(err, r"^An error occurred: error getting server version: timed out "
                              r"after 1000 ms waiting for server status request "
                              r"velero-cli-\S+ to be processed\n$")
        self.assertGreaterEqual(took, 0.95)
        self.assertLess(took, 5)

    def test_plugin_get_times_out(self):
        rc, out, err, took = self.timed("plugin", "get")
        self.assertEqual((rc, out), (1, b""), err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertRegex(err, r"^An error occurred: .*timed out after 1000 ms")
        self.assertGreaterEqual(took, 0.95)
        self.assertLess(took, 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
