"""test/integration/lib/vreqworld.py — a whole world for vreq CLI tests: the S3 peer (optionally
behind a throttling TCP relay), kubesim seeded with a credential Secret, BSL `default`, Backups
and Restores, and vreqd; plus run_vreq() to run $VR_BIN_DIR/vreq against it.

- Relay(upstream_port, rate): a TCP relay on 127.0.0.1:0 passing the peer's bytes on at about
  `rate` bytes/s (the presigned URL is signed for the relay's host:port, which the peer checks
  against the Host header the relay forwards unchanged). close() drops every connection.
- World(workdir, objects, backups, restores, relay_rate=None, start_vreqd=True, sim_args=()):
  .peer, .relay, .sim, .kube, .vreqd, .kubeconfig; objects {key: bytes} are uploaded first;
  bsl_ca (PEM bytes) goes into the BSL's caCert; s3url_for(peer_port) overrides the s3Url
  (a TLS front);
  stop() stops everything (vreqd and kubesim must exit 0).
- seed(kube, s3url, backups=("nightly",), restores=(), bsl_ca=None): the world's objects in
  namespace velero (for tests that start kubesim themselves): Secret cloud-credentials,
  BSL default (s3Url, bucket velero, path-style), Completed Backups and Restores.
- gz(data) -> gzip bytes (fixed mtime).

Import with sys.path.insert(0, <dir of this file>).
"""

import base64
import gzip
import os
import socket
import subprocess
import threading
import time

import s3peer
import vreqd
import vrproc
from vrproc import core_path, velero_path

NS, BUCKET = "velero", "velero"
SECRET_INI = b"[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n"


def gz(data):
    return gzip.compress(data, mtime=0)


class Relay:
    """Throttling TCP relay 127.0.0.1:port -> 127.0.0.1:upstream_port."""

    def __init__(self, upstream_port, rate):
        self.upstream_port, self.rate = upstream_port, rate
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.conns += [c, u]
            threading.Thread(target=self._pump, args=(c, u, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, self.rate), daemon=True).start()

    def _pump(self, src, dst, rate):
        chunk = 16384 if rate is None else max(1024, rate // 20)
        try:
            while True:
                data = src.recv(chunk)
                if not data:
                    break
                dst.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        for s in [self.lsock] + self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def velero_obj(kind, name, spec, status=None):
    o = {"apiVersion": "velero.io/v1", "kind": kind,
         "metadata": {"namespace": NS, "name": name}, "spec": spec}
    if status is not None:
        o["status"] = status
    return o


class World:
    def __init__(self, workdir, objects, backups, restores=(), relay_rate=None,
                 start_vreqd=True, sim_args=(), bsl_ca=None, s3url_for=None):
        self.workdir = workdir
        self.peer = self.relay = self.sim = self.vreqd = None
        try:
            self.peer = s3peer.S3Peer(workdir, buckets=[BUCKET])
            for key, data in objects.items():
                s3peer.put_object(self.peer.host, BUCKET, key, data)
            url = s3url_for(self.peer.port) if s3url_for else self.peer.url
            if relay_rate:
                self.relay = Relay(self.peer.port, relay_rate)
                url = f"http://127.0.0.1:{self.relay.port}"
            self.sim = vrproc.Kubesim(workdir, *sim_args)
            self.kube = self.sim.kube
            self.kubeconfig = self.sim.kubeconfig
            self._seed(url, backups, restores, bsl_ca)
            if start_vreqd:
                self.start_vreqd()
        except BaseException:
            self.stop(check=False)
            raise

    def _seed(self, url, backups, restores, bsl_ca):
        seed(self.kube, url, backups, restores, bsl_ca)

    def start_vreqd(self):
        self.vreqd = vreqd.Vreqd(self.workdir, self.sim, "--metrics-addr", "0",
                                 wait_port=False)

    def drs(self):
        return self.kube.get(velero_path("downloadrequests", NS))["items"]

    def stop(self, check=True):
        if self.relay:
            self.relay.close()
        procs = (self.vreqd, self.sim, self.peer)
        self.vreqd = self.sim = self.peer = None
        vreqd.stop_all(procs, check)


def seed(kube, s3url, backups=("nightly",), restores=(), bsl_ca=None):
    """Secret cloud-credentials (S3RVER keys), BSL default (s3url, bucket velero,
    path-style, caCert bsl_ca when given), a Completed Backup in BSL default per name in
    backups, and a Completed Restore per (restore, backup) in restores (dict or pairs)."""
    kube.create(core_path("secrets", NS), {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"namespace": NS, "name": "cloud-credentials"},
        "data": {"cloud": base64.b64encode(SECRET_INI).decode()}})
    storage = {"bucket": BUCKET}
    if bsl_ca:
        storage["caCert"] = base64.b64encode(bsl_ca).decode()
    spec = {"provider": "aws", "objectStorage": storage,
            "config": {"region": "us-east-1", "s3Url": s3url, "s3ForcePathStyle": "true"},
            "credential": {"name": "cloud-credentials", "key": "cloud"}}
    kube.create(velero_path("backupstoragelocations", NS),
                velero_obj("BackupStorageLocation", "default", spec, {"phase": "Available"}))
    for b in backups:
        kube.create(velero_path("backups", NS), velero_obj(
            "Backup", b, {"storageLocation": "default"}, {"phase": "Completed"}))
    for r, b in dict(restores).items():
        kube.create(velero_path("restores", NS), velero_obj(
            "Restore", r, {"backupName": b}, {"phase": "Completed"}))


def vreq_env(home, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("KUBECONFIG", "VELERO_NAMESPACE") and not k.startswith("AWS_")}
    env["HOME"] = home
    env.update(extra)
    return env


def run_vreq(args, home, timeout=60, env=None, stdin=subprocess.DEVNULL):
    """Runs vreq ARGS; returns (exit status, stdout bytes, stderr text)."""
    binary = os.path.join(os.environ["VR_BIN_DIR"], "vreq")
    r = subprocess.run([binary, *args], stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       env=env if env is not None else vreq_env(home))
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")
