#!/usr/bin/python3
"""vreq_cli_test: the vreq CLI end to end against kubesim + the verifying S3 peer + vreqd.

- every command byte-exact against the stored objects: backup/restore logs (gunzipped),
  backup download (raw, to <NAME>-data.tar.gz, -o FILE), get for several kinds (stdout, -o);
- overwrite refusal without --force, --force; a failed download leaves no file;
- a missing backup: vreqd's Failed message, exit 1 at once; 404 -> "file not found";
- a gzip bomb stopped at --max-decompressed-size with exactly the first N bytes written;
- every DownloadRequest is deleted after use; waiting is a watch, not GET polling;
- exit codes 0 / 1 / 2 and --help; KUBECONFIG and VELERO_NAMESPACE from the environment;
- no vreqd: Velero's download-url timeout message after --timeout;
- the S3 peer killed mid-download (throttled through a relay): exit 1, partial file removed;
  SIGINT mid-download: the same;
- TLS: the API server behind stunnel with the kubeconfig's CA, with --cacert, and neither
  (fails); the object store behind stunnel: the BSL's caCert trusted automatically, refused
  without it, --insecure-skip-tls-verify.
Exits 77 only when the S3 peer cannot be installed (or stunnel is missing, for TLS cases).
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import s3peer  # noqa: E402
import vreqworld  # noqa: E402
import vrproc  # noqa: E402
from vreqworld import gz, run_vreq, vreq_env  # noqa: E402

URL_TIMEOUT_MSG = ("download request download url timeout, check velero server logs for "
                   "errors. backup storage location may not be available")
LOG = b"".join(b"time=\"2026-01-01T00:00:%02d\" level=info msg=\"item %d\"\n" % (i % 60, i)
               for i in range(5000))
RLOG = b"restore log line\n" * 3000
TARBALL = os.urandom(3 << 20)
RESLIST = json.dumps({"v1/Pod": ["ns/a", "ns/b"]}).encode()
RESULTS = json.dumps({"errors": {}, "warnings": {"namespaces": {"ns": ["w"]}}}).encode()
VOLINFO = json.dumps([{"pvcName": "data"}]).encode()
BOMB_PLAIN = b"\0" * (20 << 20)
OBJECTS = {
    "backups/b1/b1-logs.gz": gz(LOG),
    "backups/b1/b1.tar.gz": TARBALL,
    "backups/b1/b1-resource-list.json.gz": gz(RESLIST),
    "backups/b1/b1-results.gz": gz(RESULTS),
    "restores/r1/restore-r1-logs.gz": gz(RLOG),
    "restores/r1/r1-volumeinfo.json.gz": gz(VOLINFO),
    "backups/bomb/bomb-logs.gz": gz(BOMB_PLAIN),
}
BACKUPS = ["b1", "bomb", "nofile"]
RESTORES = {"r1": "b1"}


def setUpModule():
    why = s3peer.ensure_installed()
    if why:
        print(f"SKIP: {why}")
        sys.exit(77)


class Base(unittest.TestCase):
    WORLD_ARGS = {}

    @classmethod
    def setUpClass(cls):
        cls.dir = vrproc.workdir("vr-cli-")
        cls.home = cls.dir.name
        cls.world = vreqworld.World(cls.home, OBJECTS, BACKUPS, RESTORES, **cls.WORLD_ARGS)
        cls.kc = ["--kubeconfig", cls.world.kubeconfig]

    @classmethod
    def tearDownClass(cls):
        try:
            cls.world.stop(check=True)
        finally:
            cls.dir.cleanup()

    def vreq(self, *args, cwd=None, timeout=60, env=None, kc=True):
        argv = (self.kc if kc else []) + list(args)
        binary = os.path.join(os.environ["VR_BIN_DIR"], "vreq")
        r = subprocess.run([binary, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, cwd=cwd or self.home,
                           env=env or vreq_env(self.home))
        err = r.stderr.decode(errors="replace")
        self.assertNotRegex(err, vrproc.SANITIZER_RE)
        return r.returncode, r.stdout, err

    def assert_no_requests(self):
        self.assertEqual([d["metadata"]["name"] for d in self.world.drs()], [],
                         "DownloadRequests left behind")

    def fail1(self, rc, err, want):
        """Exit 1 with exactly one line "An error occurred: ..." containing want."""
        self.assertEqual(rc, 1, err)
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("An error occurred: "), err)
        self.assertIn(want, lines[0])


class Commands(Base):
    def test_backup_logs(self):
        rc, out, err = self.vreq("backup", "logs", "b1")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, LOG)
        self.assert_no_requests()

    def test_restore_logs(self):
        rc, out, err = self.vreq("restore", "logs", "r1", "-n", "velero")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, RLOG)
        self.assert_no_requests()

    def test_get_kinds(self):
        for kind, name, want in (("BackupResourceList", "b1", RESLIST),
                                 ("BackupResults", "b1", RESULTS),
                                 ("RestoreVolumeInfo", "r1", VOLINFO),
                                 ("backupcontents", "b1", TARBALL),
                                 ("BackupLog", "b1", LOG)):
            with self.subTest(kind=kind):
                rc, out, err = self.vreq("get", kind, name)
                self.assertEqual((rc, err), (0, ""))
                self.assertEqual(out, want)
        path = os.path.join(self.home, "rl.json")
        rc, out, err = self.vreq("get", "BackupResourceList", "b1", "-o", path)
        self.assertEqual((rc, out, err), (0, b"", ""))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), RESLIST)
        rc, out, err = self.vreq("get", "BackupResults", "b1", "-o", path)
        self.fail1(rc, err, "already exists")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), RESLIST)
        self.assert_no_requests()

    def test_download(self):
        cwd = tempfile.mkdtemp(dir=self.home)
        rc, out, err = self.vreq("backup", "download", "b1", cwd=cwd)
        self.assertEqual((rc, err), (0, ""))
        path = os.path.join(cwd, "b1-data.tar.gz")
        self.assertEqual(out.decode(), f"Backup b1 has been successfully downloaded to {path}\n")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), TARBALL)
        # Overwrite refusal, then --force.
        with open(path, "wb") as f:
            f.write(b"precious")
        rc, out, err = self.vreq("backup", "download", "b1", cwd=cwd)
        self.fail1(rc, err, 'file "b1-data.tar.gz" already exists')
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"precious")
        rc, out, err = self.vreq("backup", "download", "b1", "--force", cwd=cwd)
        self.assertEqual((rc, err), (0, ""))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), TARBALL)
        other = os.path.join(cwd, "x.tgz")
        rc, out, err = self.vreq("backup", "download", "b1", "-o", other, cwd=cwd)
        self.assertEqual((rc, err), (0, ""))
        with open(other, "rb") as f:
            self.assertEqual(f.read(), TARBALL)
        self.assert_no_requests()

    def test_failed_missing_backup_exits_at_once(self):
        t0 = time.monotonic()
        rc, out, err = self.vreq("backup", "logs", "absent-backup", "--timeout", "50s")
        self.assertLess(time.monotonic() - t0, 20)
        self.fail1(rc, err, "absent-backup")
        self.assertEqual(out, b"")
        cwd = tempfile.mkdtemp(dir=self.home)
        rc, out, err = self.vreq("backup", "download", "absent-backup", cwd=cwd)
        self.fail1(rc, err, "absent-backup")
        self.assertEqual(os.listdir(cwd), [], "a failed download left a file")
        self.assert_no_requests()

    def test_404_file_not_found(self):
        rc, out, err = self.vreq("backup", "logs", "nofile")
        self.fail1(rc, err, "file not found")
        self.assertEqual(err, "An error occurred: file not found\n")
        cwd = tempfile.mkdtemp(dir=self.home)
        rc, out, err = self.vreq("backup", "download", "nofile", cwd=cwd)
        self.assertEqual(err, "An error occurred: file not found\n")
        self.assertEqual(os.listdir(cwd), [])
        self.assert_no_requests()

    def test_gzip_bomb_capped(self):
        rc, out, err = self.vreq("backup", "logs", "bomb", "--max-decompressed-size", "1Mi")
        self.fail1(rc, err, "decompressed data exceeds the limit of 1048576 bytes")
        self.assertEqual(out, b"\0" * (1 << 20))
        path = os.path.join(self.home, "bomb.out")
        rc, out, err = self.vreq("get", "BackupLog", "bomb", "-o", path,
                                 "--max-decompressed-size", "64k")
        self.fail1(rc, err, "exceeds the limit")
        self.assertFalse(os.path.exists(path))
        # Under the default cap (1 GiB) the whole 20 MiB comes out.
        rc, out, err = self.vreq("backup", "logs", "bomb")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(len(out), len(BOMB_PLAIN))
        self.assert_no_requests()

    def test_waits_with_a_watch_not_polling(self):
        before = self.world.kube.stats()["requests"]
        rc, out, err = self.vreq("backup", "logs", "b1")
        self.assertEqual(rc, 0, err)
        after = self.world.kube.stats()["requests"]
        # vreq: GET backup + GET BSL (the CA lookup); vreqd's own reads are cached.
        self.assertLessEqual(after["GET"] - before["GET"], 4)
        self.assertGreaterEqual(after["WATCH"] - before["WATCH"], 1)
        self.assertGreaterEqual(after["DELETE"] - before["DELETE"], 1)

    def test_watch_forbidden_falls_back_to_polling(self):
        # The first GET under downloadrequests is vreq's watch: make it 403.
        k = self.world.kube
        k.request("POST", "/kubesim/faults", {
            "method": "GET", "path_prefix": "/apis/velero.io/v1/namespaces/velero/downloadrequests",
            "code": 403, "count": 1})
        try:
            before = k.stats()["requests"]
            rc, out, err = self.vreq("backup", "logs", "b1")
            after = k.stats()["requests"]
        finally:
            k.request("DELETE", "/kubesim/faults")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, LOG)
        self.assertGreaterEqual(after["GET"] - before["GET"], 3)  # backup, BSL, >= 1 poll
        self.assert_no_requests()

    def test_environment(self):
        env = vreq_env(self.home, KUBECONFIG=self.world.kubeconfig, VELERO_NAMESPACE="velero")
        rc, out, err = self.vreq("backup", "logs", "b1", env=env, kc=False)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, LOG)
        # VELERO_NAMESPACE names where the request goes; -n wins over it.
        env["VELERO_NAMESPACE"] = "elsewhere"
        rc, out, err = self.vreq("backup", "logs", "b1", "-n", "velero", env=env, kc=False)
        self.assertEqual((rc, err), (0, ""))
        rc, out, err = self.vreq("backup", "logs", "b1", "--timeout", "1s", env=env, kc=False)
        self.assertEqual(rc, 1, err)
        rc, out, err = self.vreq("backup", "logs", "b1", "--kubeconfig", "/nonexistent",
                                 kc=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("/nonexistent", err)

    def test_exit_codes_and_help(self):
        for args in ((), ("frobnicate",), ("backup", "logs"), ("backup", "logs", "a", "b"),
                     ("backup", "logs", "b1", "--force"), ("backup", "logs", "b1", "--bogus"),
                     ("get", "BackupTarball", "b1"), ("backup", "logs", "b1", "--timeout", "x"),
                     ("backup", "logs", "b1", "--max-decompressed-size", "lots")):
            with self.subTest(args=args):
                rc, out, err = self.vreq(*args)
                self.assertEqual(rc, 2, err)
                self.assertTrue(err.startswith("Error: "), err)
                self.assertEqual(out, b"")
        rc, out, err = self.vreq("get", "BackupTarball", "b1")
        self.assertIn("unknown kind \"BackupTarball\"", err)
        rc, out, err = self.vreq("--help")
        self.assertEqual((rc, err), (0, ""))
        for word in (b"backup logs", b"backup download", b"restore logs", b"get", b"--timeout",
                     b"--max-decompressed-size", b"--cacert"):
            self.assertIn(word, out)
        for cmd in (("backup", "logs"), ("backup", "download"), ("restore", "logs"), ("get",)):
            rc, out, err = self.vreq(*cmd, "--help")
            self.assertEqual((rc, err), (0, ""), cmd)
            self.assertTrue(out.startswith(b"Usage: vreq " + " ".join(cmd).encode()), out)
        self.assert_no_requests()


class NoVreqd(Base):
    WORLD_ARGS = {"start_vreqd": False}

    def test_timeout_message(self):
        t0 = time.monotonic()
        rc, out, err = self.vreq("backup", "logs", "b1", "--timeout", "2s")
        took = time.monotonic() - t0
        self.assertEqual(err, f"An error occurred: {URL_TIMEOUT_MSG}\n")
        self.assertEqual(rc, 1)
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 15)
        self.assert_no_requests()


class Interrupted(Base):
    """The peer behind a relay that passes 4 MiB/s: a 24 MiB tarball takes ~6 s."""
    WORLD_ARGS = {"relay_rate": 4 << 20}
    BIG = os.urandom(24 << 20)

    @classmethod
    def setUpClass(cls):
        OBJECTS_BIG = dict(OBJECTS)
        OBJECTS_BIG["backups/big/big.tar.gz"] = cls.BIG
        cls.dir = vrproc.workdir("vr-cli-")
        cls.home = cls.dir.name
        cls.world = vreqworld.World(cls.home, OBJECTS_BIG, BACKUPS + ["big"], RESTORES,
                                    **cls.WORLD_ARGS)
        cls.kc = ["--kubeconfig", cls.world.kubeconfig]

    def start_download(self, cwd):
        binary = os.path.join(os.environ["VR_BIN_DIR"], "vreq")
        p = subprocess.Popen([binary, *self.kc, "backup", "download", "big"], cwd=cwd,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=vreq_env(self.home))
        path = os.path.join(cwd, "big-data.tar.gz")
        deadline = time.monotonic() + 30
        while not (os.path.exists(path) and os.path.getsize(path) > (1 << 20)):
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
            self.assertLess(time.monotonic(), deadline, "the download did not start")
            time.sleep(0.05)
        return p, path

    def test_1_sigint_removes_partial_file(self):
        cwd = tempfile.mkdtemp(dir=self.home)
        p, path = self.start_download(cwd)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 1, err)
        self.assertEqual(err.decode(), "An error occurred: interrupted\n")
        self.assertFalse(os.path.exists(path), "partial file left behind")
        self.assert_no_requests()

    def test_2_peer_killed_removes_partial_file(self):
        cwd = tempfile.mkdtemp(dir=self.home)
        p, path = self.start_download(cwd)
        size_then = os.path.getsize(path)
        self.assertLess(size_then, len(self.BIG))
        self.world.peer.proc.kill()
        self.world.peer.proc.wait()
        self.world.peer.err.close()
        self.world.peer.proc.stdout.close()
        self.world.peer = None
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1, err)
        self.assertTrue(err.decode().startswith("An error occurred: download failed: "), err)
        self.assertFalse(os.path.exists(path), "partial file left behind")
        self.assertEqual(os.listdir(cwd), [])
        self.assert_no_requests()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Tls(unittest.TestCase):
    """kubesim and the S3 peer each behind a stunnel TLS front (test CA from tlscerts.sh)."""

    @classmethod
    def setUpClass(cls):
        stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
        if not stunnel:
            raise unittest.SkipTest("stunnel4 is not installed")
        cls.dir = vrproc.workdir("vr-cli-tls-")
        d = cls.home = cls.dir.name
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "tlscerts.sh")
        subprocess.run(["bash", script, d], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(d, "ca.crt"), "rb") as f:
            cls.ca = f.read()
        cls.kport, cls.sport = free_port(), free_port()
        cls.world = cls.stunnel = None
        try:
            cls.world = vreqworld.World(
                d, OBJECTS, BACKUPS, RESTORES, bsl_ca=cls.ca,
                s3url_for=lambda peer_port: cls.start_stunnel(stunnel, peer_port))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_stunnel(cls, stunnel, peer_port):
        """Called by World once the peer is up, before kubesim: fronts the peer now and
        kubesim later (its port is patched in start_api_front)."""
        cls.stunnel_bin, cls.peer_port = stunnel, peer_port
        return f"https://127.0.0.1:{cls.sport}"

    @classmethod
    def start_fronts(cls):
        d = cls.home
        ks_port = int(cls.world.sim.url.rsplit(":", 1)[1])
        conf = os.path.join(d, "stunnel.conf")
        with open(conf, "w") as f:
            f.write(f"foreground = yes\npid =\ndebug = notice\n"
                    f"[api]\naccept = 127.0.0.1:{cls.kport}\nconnect = 127.0.0.1:{ks_port}\n"
                    f"cert = {d}/server.crt\nkey = {d}/server.key\n"
                    f"[s3]\naccept = 127.0.0.1:{cls.sport}\nconnect = 127.0.0.1:{cls.peer_port}\n"
                    f"cert = {d}/server.crt\nkey = {d}/server.key\n")
        cls.stunnel = subprocess.Popen([cls.stunnel_bin, conf], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       preexec_fn=vrproc.die_with_parent)
        deadline = time.monotonic() + 15
        for port in (cls.kport, cls.sport):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or cls.stunnel.poll() is not None:
                        raise AssertionError("stunnel did not come up")
                    time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.stunnel:
                cls.stunnel.terminate()
                cls.stunnel.wait(10)
            if cls.world:
                cls.world.stop(check=True)
        finally:
            cls.dir.cleanup()

    def setUp(self):
        if self.stunnel is None:
            type(self).start_fronts()

    def kubeconfig(self, with_ca):
        cluster = {"server": f"https://127.0.0.1:{self.kport}"}
        if with_ca:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca).decode()
        kc = {"apiVersion": "v1", "kind": "Config", "current-context": "tls",
              "clusters": [{"name": "tls", "cluster": cluster}],
              "users": [{"name": "u", "user": {}}],
              "contexts": [{"name": "tls", "context": {"cluster": "tls", "user": "u",
                                                        "namespace": "velero"}}]}
        path = os.path.join(self.home, f"kc-tls-{int(with_ca)}.json")
        with open(path, "w") as f:
            json.dump(kc, f)
        return path

    def vreq(self, *args):
        return run_vreq(list(args), self.home)

    def test_kubeconfig_ca(self):
        rc, out, err = self.vreq("--kubeconfig", self.kubeconfig(True), "backup", "logs", "b1")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, LOG)  # through the TLS S3 front with the BSL's caCert

    def test_cacert_flag(self):
        ca = os.path.join(self.home, "ca.crt")
        rc, out, err = self.vreq("--kubeconfig", self.kubeconfig(False), "--cacert", ca,
                                 "get", "BackupResults", "b1")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, RESULTS)

    def test_untrusted_api_server_fails(self):
        rc, out, err = self.vreq("--kubeconfig", self.kubeconfig(False), "backup", "logs", "b1",
                                 "--timeout", "10s")
        self.assertEqual(rc, 1, err)
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_insecure_and_extra_cacert(self):
        # --insecure-skip-tls-verify downloads without any CA; an unrelated --cacert is
        # trusted in addition to the BSL's CA, not instead of it.
        rc, out, err = self.vreq("--kubeconfig", self.kubeconfig(True),
                                 "--insecure-skip-tls-verify", "get", "BackupLog", "b1")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, LOG)
        other = os.path.join(self.home, "other-ca.crt")
        rc, out, err = self.vreq("--kubeconfig", self.kubeconfig(True), "--cacert", other,
                                 "get", "BackupLog", "b1")
        self.assertEqual((rc, err), (0, ""))

    def test_no_bsl_ca_refused(self):
        # Drop the caCert from the BSL: the download is refused with Velero's hint.
        path = vrproc.velero_path("backupstoragelocations", "velero", "default")
        bsl = self.world.kube.get(path)
        ca = bsl["spec"]["objectStorage"].pop("caCert")
        self.world.kube.merge_patch(path, {"spec": {"objectStorage": {"caCert": None}}})
        try:
            rc, out, err = self.vreq("--kubeconfig", self.kubeconfig(True), "get", "BackupLog",
                                     "b1")
            self.assertEqual(rc, 1, err)
            self.assertIn("--insecure-skip-tls-verify flag can also be used", err)
        finally:
            self.world.kube.merge_patch(path, {"spec": {"objectStorage": {"caCert": ca}}})


if __name__ == "__main__":
    unittest.main(verbosity=2)
