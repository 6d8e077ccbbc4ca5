#!/usr/bin/python3
"""h2_test: vreqd and the vreq CLI over HTTP/2 to a TLS API server.

nghttpx (Debian nghttp2-proxy) terminates TLS on 127.0.0.1 with the test CA's server cert
(lib/tlscerts.sh), offers ALPN h2 and http/1.1, and forwards to kubesim over plain
HTTP/1.1. kubesim requires a bearer token. vreqd (with --leader-elect) and `vreq` get a
kubeconfig naming https://127.0.0.1:<nghttpx port>, the CA as certificate-authority-data and
the token. The test

- waits for vreqd's /readyz, creates a BackupLog DownloadRequest and waits (reading kubesim
  directly) until it is Processed with a URL for the BSL's s3Url (nothing fetches it: vreqd
  only presigns, so no S3 server runs);
- runs, through the same kubeconfig, `vreq version` (a ServerStatusRequest: POST, watch,
  answered by vreqd) and `vreq backup describe` (GETs, then a DownloadRequest for the volume
  info: POST, watch, DELETE; vreqd presigns it and only the download from the absent object
  store fails, which describe prints in place); both must exit 0;
- stops vreqd (SIGTERM), nghttpx (SIGQUIT: graceful) and kubesim, each must exit 0, and
  reads nghttpx's access log (one line per request, written when the response headers
  arrive, so open watches are there too): every request came over ALPN h2 and none over
  http/1.1; vreqd made LIST, WATCH and PATCH requests and the CLI its own; vreqd's requests
  came over at most MAX_VREQD_CONNS TCP connections (distinct client ports), i.e. its
  informers multiplex.
  The figures are printed.

Exits 77 with one SKIP line when nghttpx is not installed. Environment: VR_BIN_DIR.
"""

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import types
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import vreqd  # noqa: E402
import vreqworld  # noqa: E402
import vrproc  # noqa: E402
from vrproc import velero_path  # noqa: E402

NS = "velero"
S3URL = "http://127.0.0.1:9"  # never contacted: vreqd only presigns
SERVER_VERSION = "v9.9.9-h2"
WAIT_S = 30
MAX_VREQD_CONNS = 2
COLLECTION_RE = re.compile(r"/(?:api/v1|apis/[^/]+/[^/]+)(?:/namespaces/[^/]+)?/[a-z]+")
# Tab-separated; $path is URL-encoded, $http_user_agent is "vreqd/V" or "vreq/V".
LOG_FIELDS = ("alpn", "proto", "port", "method", "status", "ua", "path")
LOG_FORMAT = "\t".join(("$alpn", "$protocol_version", "$remote_port", "$method", "$status",
                        "$http_user_agent", "$path"))


def find_nghttpx():
    return shutil.which("nghttpx") or next(
        (p for p in ("/usr/sbin/nghttpx", "/usr/bin/nghttpx") if os.access(p, os.X_OK)), None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nghttpx(vrproc.Proc):
    """nghttpx: TLS (h2, http/1.1) on 127.0.0.1:.port -> backend 127.0.0.1:backend_port."""

    def __init__(self, binary, workdir, certdir, backend_port):
        self.port = free_port()
        self.access_log = os.path.join(workdir, "nghttpx-access.log")
        self.error_log = os.path.join(workdir, "nghttpx-error.log")
        argv = [binary, "--conf=/dev/null",  # not /etc/nghttpx/nghttpx.conf (syslog there)
                f"--frontend=127.0.0.1,{self.port}", f"--backend=127.0.0.1,{backend_port}",
                "--workers=1", "--no-ocsp", "--backend-read-timeout=5m",
                "--frontend-http2-read-timeout=5m", "--accesslog-write-early",
                f"--accesslog-file={self.access_log}", f"--accesslog-format={LOG_FORMAT}",
                f"--errorlog-file={self.error_log}",
                os.path.join(certdir, "server.key"), os.path.join(certdir, "server.crt")]
        super().__init__("nghttpx", argv, workdir)
        try:
            vreqd.poll(self._accepts, 15, "nghttpx to accept connections")
        except AssertionError as e:
            tail = self.tail()  # before stop() closes the stderr file
            self.stop(check=False)
            raise AssertionError(f"{e}\n{tail}") from None

    def _accepts(self):
        if not self.alive():
            raise AssertionError(f"nghttpx exited with {self.proc.returncode}\n{self.tail()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self, check=True, sig=signal.SIGQUIT):
        """SIGQUIT: graceful shutdown, exit 0 (SIGTERM kills it by that signal)."""
        return super().stop(check, sig)

    def tail(self, n=6000):
        text = ""
        if os.path.exists(self.error_log):
            with open(self.error_log, errors="replace") as f:
                text = f.read()[-n:]
        return f"{super().tail(n)}\n--- nghttpx error log (tail) ---\n{text}"

    def entries(self):
        """The access log as a list of {field: value}."""
        with open(self.access_log, errors="replace") as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip()]
        out = []
        for ln in lines:
            parts = ln.split("\t")
            if len(parts) != len(LOG_FIELDS):
                raise AssertionError(f"unparsable access log line {ln!r}")
            out.append(dict(zip(LOG_FIELDS, parts)))
        return out


def write_kubeconfig(path, port, ca_pem, token):
    cluster = {"server": f"https://127.0.0.1:{port}",
               "certificate-authority-data": base64.b64encode(ca_pem).decode()}
    kc = {"apiVersion": "v1", "kind": "Config", "current-context": "h2",
          "clusters": [{"name": "h2", "cluster": cluster}],
          "users": [{"name": "u", "user": {"token": token}}],
          "contexts": [{"name": "h2", "context": {"cluster": "h2", "user": "u",
                                                  "namespace": NS}}]}
    with open(path, "w") as f:
        json.dump(kc, f)
    os.chmod(path, 0o600)


def kind_of(e):
    """LIST, WATCH or the method, for one access log entry."""
    if e["method"] != "GET":
        return e["method"]
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(e["path"]).query)
    if q.get("watch", [""])[0] in ("1", "true"):
        return "WATCH"
    return "LIST" if COLLECTION_RE.fullmatch(urllib.parse.urlsplit(e["path"]).path) else "GET"


def processed(obj):
    return (obj.get("status") or {}).get("phase") == "Processed"


class H2(unittest.TestCase):
    def setUp(self):
        self.nghttpx_bin = find_nghttpx()
        self.dir = vrproc.workdir("vr-h2-")
        self.addCleanup(self.dir.cleanup)
        self.sim = self.proxy = self.vreqd = None
        self.addCleanup(self.stop_all, check=False)
        d = self.dir.name
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "tlscerts.sh")
        subprocess.run(["bash", script, d], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(d, "ca.crt"), "rb") as f:
            ca = f.read()
        self.token = secrets.token_hex(16)
        self.sim = vrproc.Kubesim(d, "--token", self.token)
        self.kube = vrproc.Kube(self.sim.url, token=self.token)
        vreqworld.seed(self.kube, S3URL, backups=("nightly",))
        self.proxy = Nghttpx(self.nghttpx_bin, d, d,
                             urllib.parse.urlsplit(self.sim.url).port)
        self.kubeconfig = os.path.join(d, "kubeconfig-h2")
        write_kubeconfig(self.kubeconfig, self.proxy.port, ca, self.token)

    def stop_all(self, check):
        procs = (self.vreqd, self.proxy, self.sim)
        self.vreqd = self.proxy = self.sim = None
        vreqd.stop_all(procs, check)

    def context(self):
        parts = [p.tail() for p in (self.vreqd, self.proxy) if p is not None]
        return "\n".join(parts)

    def test_vreqd_and_cli_over_h2(self):
        sim = types.SimpleNamespace(kubeconfig=self.kubeconfig)  # all Vreqd reads of it
        self.vreqd = vreqd.Vreqd(self.dir.name, sim, "--leader-elect",
                                 "--server-version", SERVER_VERSION, "--log-level", "debug")
        self.poll(self.ready_or_die, "vreqd's /readyz")
        self.serve_download_request()
        self.run_cli()
        proxy = self.proxy
        self.stop_all(check=True)
        self.check_access_log(proxy.entries())

    def poll(self, fn, what):
        """vreqd.poll(fn) for WAIT_S, given up when vreqd exits; failures carry the logs."""
        def step():
            if not self.vreqd.alive():
                raise AssertionError(f"vreqd exited with {self.vreqd.proc.returncode}")
            return fn()
        try:
            return vreqd.poll(step, WAIT_S, what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.context()}") from None

    def ready_or_die(self):
        return self.vreqd.readyz()[0]

    def serve_download_request(self):
        path = velero_path("downloadrequests", NS)
        self.kube.create(path, vreqworld.velero_obj(
            "DownloadRequest", "h2-log", {"target": {"kind": "BackupLog", "name": "nightly"}}))

        def done():
            obj = self.kube.get(f"{path}/h2-log")
            return obj if processed(obj) else None
        obj = self.poll(done, "DownloadRequest h2-log to be Processed")
        url = obj["status"].get("downloadURL", "")
        self.assertTrue(url.startswith(f"{S3URL}/velero/backups/nightly/nightly-logs.gz?"), url)

    def vreq(self, *args):
        rc, out, err = vreqworld.run_vreq(["--kubeconfig", self.kubeconfig, *args],
                                          self.dir.name)
        self.assertNotRegex(err, vrproc.SANITIZER_RE)
        return rc, out.decode(errors="replace"), err

    def run_cli(self):
        rc, out, err = self.vreq("version")
        self.assertEqual((rc, err), (0, ""), f"vreq version\n{out}\n{self.context()}")
        self.assertIn(f"Server:\n\tVersion: {SERVER_VERSION}\n", out)
        rc, out, err = self.vreq("backup", "describe", "nightly")
        self.assertEqual((rc, err), (0, ""), f"vreq backup describe\n{out}\n{self.context()}")
        self.assertTrue(out.startswith("Name:         nightly\nNamespace:    velero\n"), out)
        self.assertIn("\nPhase:  Completed\n", out)
        # The DownloadRequest was served; only the object store (port 9) is not there.
        self.assertIn("<error getting backup volume info: download failed: ", out)

    def check_access_log(self, entries):
        by_ua = {}
        for e in entries:
            by_ua.setdefault(e["ua"].split("/", 1)[0], []).append(e)
        not_h2 = [e for e in entries if e["alpn"] != "h2" or e["proto"] != "HTTP/2"]
        self.assertEqual([], [(e["alpn"], e["proto"], e["ua"], e["method"], e["path"])
                              for e in not_h2], "requests not over h2")
        self.assertEqual(set(by_ua), {"vreqd", "vreq"}, f"unexpected clients: {set(by_ua)}")
        kinds = {k: sorted({kind_of(e) for e in v}) for k, v in by_ua.items()}
        for want in ("LIST", "WATCH", "PATCH"):
            self.assertIn(want, kinds["vreqd"], f"no vreqd {want} in the access log")
        self.assertTrue(any(e["method"] == "PATCH" and "/downloadrequests/h2-log" in e["path"]
                            for e in by_ua["vreqd"]), "vreqd's status PATCH is not logged")
        for want in ("POST", "WATCH", "DELETE", "GET"):
            self.assertIn(want, kinds["vreq"], f"no vreq {want} in the access log")
        ports = {k: sorted({e["port"] for e in v}) for k, v in by_ua.items()}
        print(f"h2: {len(entries)} requests, all ALPN h2; "
              f"vreqd {len(by_ua['vreqd'])} requests ({', '.join(kinds['vreqd'])}) over "
              f"{len(ports['vreqd'])} connection(s); "
              f"vreq {len(by_ua['vreq'])} requests ({', '.join(kinds['vreq'])}) over "
              f"{len(ports['vreq'])} connection(s) in 2 runs", flush=True)
        self.assertLessEqual(len(ports["vreqd"]), MAX_VREQD_CONNS,
                             f"vreqd's requests over {len(ports['vreqd'])} connections: "
                             f"{[(e['port'], kind_of(e), e['path']) for e in by_ua['vreqd']]}")


def main():
    if not find_nghttpx():
        print("SKIP: nghttpx is not installed (Debian package nghttp2-proxy)")
        sys.exit(77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
