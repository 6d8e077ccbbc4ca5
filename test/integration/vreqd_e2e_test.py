#!/usr/bin/python3
"""vreqd_e2e_test: kubesim + the signature-verifying S3 peer + vreqd, end to end.

Setup (once per module): the S3 peer (@20minutes/s3rver 4.0.4, lib/s3peer.py) with bucket
`velero` holding, for two Backups and two Restores, every one of the 14 target kinds' files
under Velero's object keys (velero.md §3): BSL `default` without a prefix, BSL `pfx` with
prefix `/team/vreq/` (stripped to `team/vreq/`). Uploads are header-signed PUTs.

Per class: a fresh kubesim (flags per class) seeded with a credential Secret (INI `[default]`
S3RVER/S3RVER), the BSLs (provider aws, config region/s3Url/s3ForcePathStyle), Backups and
Restores in phase Completed, then `$VR_BIN_DIR/vreqd --kubeconfig .. --namespace velero
--metrics-addr 0` (plus the class's flags). Cases (contract.md §2, §3):

- every kind, with and without a prefix: the DownloadRequest becomes Processed, its URL points
  at the peer, path-style, with Velero's key, X-Amz-Expires = TTL, expiration = now + TTL in
  whole seconds UTC, and the URL downloads exactly the stored bytes; presigned signatures never
  appear in vreqd's output;
- a tampered signature, key, X-Amz-Expires or X-Amz-Date gets 403 from the peer;
- missing Restore / Backup (also behind a Restore) / BSL / Secret and an unknown kind end
  `Failed` with a message naming what is missing, or expiration-only under
  `kubesim --failed-phase off`; never a URL;
- no writes once everything is terminal (no no-op writes, no retry loop on permanent failures);
- status subresource off (default) and on;
- `--download-url-ttl 3s`: Processed and Failed requests are deleted at their expiration, and
  the URL is refused as expired afterwards;
- a request in another namespace is ignored, unless `--all-namespaces`;
- vreqd and kubesim exit 0 on SIGTERM (checked at every class teardown).

Every child dies with the test (PR_SET_PDEATHSIG) and is stopped in cleanup even on failure.
Environment: VR_BIN_DIR (vreqd, kubesim), VR_SOURCE_DIR. Exits 77 with one line only when
node/npm or the S3 peer cannot be installed; a missing or non-serving vreqd FAILS.
"""

import base64
import datetime
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import s3peer  # noqa: E402
import vreqd  # noqa: E402
import vrproc  # noqa: E402
from vrproc import core_path, velero_path  # noqa: E402

NS, OTHER_NS, BUCKET = "velero", "other", "velero"
WAIT_S = 30

BACKUP_SUFFIX = {
    "BackupContents": ".tar.gz",
    "BackupLog": "-logs.gz",
    "BackupVolumeSnapshots": "-volumesnapshots.json.gz",
    "BackupResourceList": "-resource-list.json.gz",
    "CSIBackupVolumeSnapshots": "-csi-volumesnapshots.json.gz",
    "CSIBackupVolumeSnapshotContents": "-csi-volumesnapshotcontents.json.gz",
    "BackupItemOperations": "-itemoperations.json.gz",
    "BackupResults": "-results.gz",
    "BackupVolumeInfos": "-volumeinfo.json.gz",
}
RESTORE_FILE = {  # file name for restore r
    "RestoreLog": "restore-{r}-logs.gz",
    "RestoreResults": "restore-{r}-results.gz",
    "RestoreResourceList": "restore-{r}-resource-list.json.gz",
    "RestoreItemOperations": "restore-{r}-itemoperations.json.gz",
    "RestoreVolumeInfo": "{r}-volumeinfo.json.gz",  # no "restore-" (Velero 1.14)
}
KINDS = sorted(BACKUP_SUFFIX) + sorted(RESTORE_FILE)
assert len(KINDS) == 14

# BSL name -> (spec prefix, expected key prefix)
BSLS = {"default": (None, ""), "pfx": ("/team/vreq/", "team/vreq/")}
# backup -> BSL, restore -> backup
BACKUPS = {"nightly-1": "default", "weekly-1": "pfx"}
RESTORES = {"nightly-1-restore": "nightly-1", "weekly-1-r2": "weekly-1"}
SECRET_INI = ("[default]\naws_access_key_id = S3RVER\n"
              "aws_secret_access_key = S3RVER\n").encode()

PEER = None
WORKDIR = None
STORED = {}  # object key -> bytes


def object_key(kind, target):
    """Velero's key for (kind, target name) in the seeded world."""
    if kind in BACKUP_SUFFIX:
        return BSLS[BACKUPS[target]][1] + f"backups/{target}/{target}{BACKUP_SUFFIX[kind]}"
    bsl = BACKUPS[RESTORES[target]]
    return BSLS[bsl][1] + f"restores/{target}/" + RESTORE_FILE[kind].format(r=target)


def targets_for(kind):
    return list(BACKUPS) if kind in BACKUP_SUFFIX else list(RESTORES)


def setUpModule():
    global PEER, WORKDIR
    WORKDIR, PEER = s3peer.start_or_skip("vr-e2e-", [BUCKET])
    try:
        for kind in KINDS:
            for target in targets_for(kind):
                key = object_key(kind, target)
                STORED[key] = f"{kind}/{target}\n".encode() + os.urandom(1500)
                s3peer.put_object(PEER.host, BUCKET, key, STORED[key])
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    global PEER
    if PEER:
        peer, PEER = PEER, None
        try:
            peer.stop(check=True)
        finally:
            WORKDIR.cleanup()


# ---- seeding kubesim ----

def create(kube, path, obj):
    """Create obj at collection path; when the status was dropped (status subresource on),
    set it through /status so Backups and Restores really are Completed."""
    got = kube.create(path, obj)
    if "status" in obj and not got.get("status"):
        kube.merge_patch(f"{path}/{obj['metadata']['name']}/status", {"status": obj["status"]})


def velero_obj(kind, ns, name, spec, status=None):
    o = {"apiVersion": "velero.io/v1", "kind": kind,
         "metadata": {"namespace": ns, "name": name}, "spec": spec}
    if status is not None:
        o["status"] = status
    return o


def bsl_spec(prefix, secret="cloud-credentials"):
    storage = {"bucket": BUCKET}
    if prefix is not None:
        storage["prefix"] = prefix
    return {"provider": "aws", "objectStorage": storage,
            "config": {"region": "us-east-1", "s3Url": PEER.url, "s3ForcePathStyle": "true"},
            "credential": {"name": secret, "key": "cloud"}}


def seed_namespace(kube, ns):
    """Secret, BSLs, Backups, Restores, and the broken objects of the failure cases."""
    if ns != NS:
        try:
            kube.create(core_path("namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": ns}})
        except vrproc.ApiError as e:
            if e.code != 409:
                raise
    kube.create(core_path("secrets", ns), {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"namespace": ns, "name": "cloud-credentials"},
        "data": {"cloud": base64.b64encode(SECRET_INI).decode()}})
    bsls = dict((n, bsl_spec(p)) for n, (p, _) in BSLS.items())
    bsls["no-secret"] = bsl_spec(None, secret="missing-secret")
    for name, spec in bsls.items():
        create(kube, velero_path("backupstoragelocations", ns),
               velero_obj("BackupStorageLocation", ns, name, spec, {"phase": "Available"}))
    backups = dict(BACKUPS, **{"b-no-bsl": "absent-bsl", "b-no-secret": "no-secret"})
    for name, bsl in backups.items():
        create(kube, velero_path("backups", ns), velero_obj(
            "Backup", ns, name, {"storageLocation": bsl}, {"phase": "Completed"}))
    restores = dict(RESTORES, **{"r-orphan": "gone-backup"})
    for name, backup in restores.items():
        create(kube, velero_path("restores", ns), velero_obj(
            "Restore", ns, name, {"backupName": backup}, {"phase": "Completed"}))


# name -> (kind, target, word the Failed message must contain)
FAILURES = {
    "fail-no-restore": ("RestoreLog", "absent-restore", "absent-restore"),
    "fail-restore-no-backup": ("RestoreResults", "r-orphan", "gone-backup"),
    "fail-no-backup": ("BackupLog", "absent-backup", "absent-backup"),
    "fail-no-bsl": ("BackupContents", "b-no-bsl", "absent-bsl"),
    "fail-no-secret": ("BackupLog", "b-no-secret", "missing-secret"),
    "fail-unknown-kind": ("BackupTarball", "nightly-1", "BackupTarball"),
}


def dr_obj(ns, name, kind, target):
    return velero_obj("DownloadRequest", ns, name, {"target": {"kind": kind, "name": target}})


def dr_name(kind, target):
    return f"{kind.lower()}-{target}"


# ---- checks ----

def parse_expiration(s):
    """RFC 3339, whole seconds, UTC 'Z' -> epoch seconds; AssertionError otherwise."""
    if not isinstance(s, str) or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s):
        raise AssertionError(f"expiration {s!r} is not RFC 3339 whole seconds UTC 'Z'")
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def query_params(url):
    return dict(p.split("=", 1) for p in urllib.parse.urlsplit(url).query.split("&"))


def replace_param(url, name, value):
    base, query = url.split("?", 1)
    parts = [f"{name}={value}" if p.startswith(name + "=") else p for p in query.split("&")]
    return base + "?" + "&".join(parts)


def phase(obj):
    return (obj or {}).get("status", {}).get("phase", "")


def terminal(obj):
    """Processed or Failed, or (older CRDs) an expiration without a phase."""
    st = (obj or {}).get("status") or {}
    return st.get("phase") in ("Processed", "Failed") or bool(st.get("expiration"))


class E2EBase(vreqd.SimAndVreqd, unittest.TestCase):
    """One kubesim + one vreqd per class; subclasses set SIM_ARGS, VREQD_ARGS, TTL_S."""

    WORKDIR_PREFIX = "vr-e2e-class-"
    TTL_S = 600
    FAILED_PHASE = True
    SEED_NAMESPACES = (NS,)

    @classmethod
    def seed(cls, kube):
        for ns in cls.SEED_NAMESPACES:
            seed_namespace(kube, ns)

    @classmethod
    def start_vreqd(cls):
        return vreqd.Vreqd(cls.dir.name, cls.sim, "--metrics-addr", "0", "--log-level", "debug",
                           "--download-url-ttl", f"{cls.TTL_S}s", *cls.VREQD_ARGS,
                           wait_port=False)

    # -- helpers --

    def wait_drs(self, ns, names, pred, what, timeout=WAIT_S):
        """Wait until pred(obj) for every named DownloadRequest in ns; returns {name: obj}."""
        def done(objs):
            got = {n: objs.get((ns, n)) for n in names}
            return got if all(o is not None and pred(o) for o in got.values()) else None
        return self.wait_for(velero_path("downloadrequests", ns), done, timeout, what)

    def create_drs(self, ns, specs):
        """specs: {name: (kind, target)}; returns the creation time (epoch)."""
        t0 = time.time()
        for name, (kind, target) in specs.items():
            self.kube.create(velero_path("downloadrequests", ns), dr_obj(ns, name, kind, target))
        return t0

    def check_processed(self, obj, key, t0, t1):
        """URL shape, expiration and download of one Processed request for object key."""
        name = obj["metadata"]["name"]
        st = obj["status"]
        self.assertEqual(st.get("phase"), "Processed", name)
        url = st.get("downloadURL", "")
        want_prefix = f"{PEER.url}/{BUCKET}/{s3peer.uri_encode(key, True)}?"
        self.assertTrue(url.startswith(want_prefix),
                        f"{name}: URL {url!r}, want {want_prefix}...")
        q = query_params(url)
        self.assertEqual(q.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256", url)
        self.assertEqual(q.get("X-Amz-SignedHeaders"), "host", url)
        self.assertEqual(q.get("X-Amz-Expires"), str(self.TTL_S), url)
        self.assertRegex(q.get("X-Amz-Credential", ""),
                         r"^S3RVER%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request$")
        self.assertRegex(q.get("X-Amz-Signature", ""), r"^[0-9a-f]{64}$")
        exp = parse_expiration(st.get("expiration"))
        self.assertGreaterEqual(exp, int(t0) + self.TTL_S - 1, f"{name}: expiration too early")
        self.assertLessEqual(exp, t1 + self.TTL_S + 1, f"{name}: expiration too late")
        # The URL must not outlive the request (nor die long before it).
        signed = datetime.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertLessEqual(abs(signed + self.TTL_S - exp), 2,
                             f"{name}: URL validity vs expiration")
        status, body = s3peer.http_get(url)
        self.assertEqual(status, 200, f"{name}: GET {url} -> {status}: {body[:400]!r}")
        self.assertEqual(body, STORED[key], f"{name}: downloaded bytes differ from {key}")
        return url

    def assert_not_logged(self, urls):
        logs = self.vreqd.stderr() + "".join(self.vreqd.out)
        for url in urls:
            sig = query_params(url)["X-Amz-Signature"]
            self.assertNotIn(sig, logs, "a presigned signature appears in vreqd's output")


class KindsMixin:
    """Cases run under every kubesim mode."""

    def test_every_kind_with_and_without_prefix(self):
        specs = {dr_name(k, t): (k, t) for k in KINDS for t in targets_for(k)}
        self.assertEqual(len(specs), 28)
        t0 = self.create_drs(NS, specs)
        got = self.wait_drs(NS, list(specs), terminal, "28 DownloadRequests to be processed")
        t1 = time.time()
        urls = []
        for name, (kind, target) in sorted(specs.items()):
            with self.subTest(kind=kind, target=target):
                urls.append(self.check_processed(got[name], object_key(kind, target), t0, t1))
        self.assert_not_logged(urls)

    def test_tampered_urls_are_refused(self):
        specs = {"tamper-log": ("BackupLog", "weekly-1"),
                 "tamper-results": ("BackupResults", "weekly-1")}
        t0 = self.create_drs(NS, specs)
        got = self.wait_drs(NS, list(specs), terminal, "2 DownloadRequests to be processed")
        url = self.check_processed(got["tamper-log"], object_key("BackupLog", "weekly-1"),
                                   t0, time.time())
        q = query_params(url)
        sig, date = q["X-Amz-Signature"], q["X-Amz-Date"]
        other_path = s3peer.uri_encode(object_key("BackupResults", "weekly-1"), True)
        later = date[:-3] + ("00" if date[-3:-1] != "00" else "01") + "Z"
        cases = {
            "signature": replace_param(url, "X-Amz-Signature",
                                       ("0" if sig[10] != "0" else "1").join([sig[:10], sig[11:]])),
            "key": url.replace(s3peer.uri_encode(object_key("BackupLog", "weekly-1"), True),
                               other_path, 1),
            "expires": replace_param(url, "X-Amz-Expires", str(self.TTL_S + 60)),
            "date": replace_param(url, "X-Amz-Date", later),
        }
        for what, bad in cases.items():
            with self.subTest(tampered=what):
                self.assertNotEqual(bad, url)
                status, body = s3peer.http_get(bad)
                self.assertEqual(status, 403, f"tampered {what}: {bad} -> {status}: {body[:300]!r}")
        status, _ = s3peer.http_get(url)
        self.assertEqual(status, 200, "the untampered URL must still work")

    def test_permanent_failures(self):
        specs = {n: (k, t) for n, (k, t, _) in FAILURES.items()}
        t0 = self.create_drs(NS, specs)
        got = self.wait_drs(NS, list(specs), terminal, "the failing requests to end")
        for name, (kind, target, word) in FAILURES.items():
            with self.subTest(case=name):
                st = got[name].get("status", {})
                self.assertNotIn("downloadURL", st, name)
                exp = parse_expiration(st.get("expiration"))
                self.assertGreaterEqual(exp, int(t0) + self.TTL_S - 1, name)
                if self.FAILED_PHASE:
                    self.assertEqual(st.get("phase"), "Failed", f"{name}: {st}")
                    self.assertIn(word, st.get("message", ""), f"{name}: message {st}")
                else:
                    self.assertIn(st.get("phase", ""), ("", "New"), f"{name}: {st}")
                    self.assertNotIn("message", st, name)

    def test_zz_quiet_when_done(self):
        """Runs last (name order): everything is terminal, so no more writes may happen:
        no no-op patches, no retry loop on the permanent failures."""
        def all_terminal(objs):
            return all(terminal(o) for o in objs.values()) or None
        self.wait_for(velero_path("downloadrequests", NS), all_terminal, WAIT_S,
                      "every request to be terminal")
        before = self.kube.stats()["requests"]
        time.sleep(2.0)  # a quiet period is inherently a fixed wait
        after = self.kube.stats()["requests"]
        for verb in ("PATCH", "PUT", "POST", "DELETE"):
            self.assertEqual(after.get(verb), before.get(verb), f"{verb} writes while idle")


class DefaultModeTest(KindsMixin, E2EBase):
    """Velero 1.9+ CRDs: no status subresource, phase enum with Failed."""

    def test_other_namespace_is_ignored(self):
        self.kube.create(core_path("namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "elsewhere"}})
        self.create_drs("elsewhere", {"elsewhere-log": ("BackupLog", "nightly-1")})
        self.create_drs(NS, {"sentinel-log": ("BackupLog", "nightly-1")})
        self.wait_drs(NS, ["sentinel-log"], terminal, "the sentinel request")
        with self.assertRaisesRegex(AssertionError, "timed out"):  # untouched for 2 s
            self.wait_drs("elsewhere", ["elsewhere-log"], lambda o: "status" in o,
                          "any status in namespace elsewhere", timeout=2)
        obj = self.kube.get(velero_path("downloadrequests", "elsewhere", "elsewhere-log"))
        self.assertNotIn("status", obj)


class StatusSubresourceTest(KindsMixin, E2EBase):
    """Velero 1.6–1.8 CRDs: status only through /status."""
    SIM_ARGS = ("--status-subresource", "on")


class FailedPhaseOffTest(KindsMixin, E2EBase):
    """CRDs whose phase enum lacks Failed: permanent failures get expiration only."""
    SIM_ARGS = ("--failed-phase", "off")
    FAILED_PHASE = False


class ShortTtlTest(E2EBase):
    """--download-url-ttl 3s: requests disappear at their expiration, URLs expire with them."""
    TTL_S = 3

    def test_processed_and_failed_deleted_at_expiration(self):
        specs = {"short-log": ("BackupLog", "nightly-1"),
                 "short-fail": ("BackupLog", "absent-backup")}
        t0 = self.create_drs(NS, specs)
        got = self.wait_drs(NS, list(specs), terminal, "the short-TTL requests", timeout=10)
        url = self.check_processed(got["short-log"], object_key("BackupLog", "nightly-1"),
                                   t0, time.time())
        self.assertEqual(phase(got["short-fail"]), "Failed")
        exps = {n: parse_expiration(o["status"]["expiration"]) for n, o in got.items()}
        self.wait_for(velero_path("downloadrequests", NS),
                      lambda objs: not any((NS, n) in objs for n in specs) or None,
                      WAIT_S, "the expired requests to be deleted")
        for name, exp in exps.items():
            deleted = self.kube.deleted_at.get((NS, name))
            self.assertIsNotNone(deleted, f"{name}: no DELETED event seen")
            self.assertGreaterEqual(deleted, exp - 0.3, f"{name}: deleted before expiration")
            self.assertLessEqual(deleted, exp + 3.0, f"{name}: deleted late")
        signed = datetime.datetime.strptime(query_params(url)["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        end = signed.replace(tzinfo=datetime.timezone.utc).timestamp() + self.TTL_S
        time.sleep(max(0.0, end + 1.1 - time.time()))  # the peer's expiry check is per second
        status, body = s3peer.http_get(url)
        self.assertEqual(status, 403, f"expired URL -> {status}: {body[:300]!r}")
        self.assertIn(b"expired", body)


class OtherNamespaceTest(E2EBase):
    """--all-namespaces serves requests of every namespace (Velero 1.6 behaviour)."""
    VREQD_ARGS = ("--all-namespaces",)
    SEED_NAMESPACES = (NS, OTHER_NS)

    def test_all_namespaces(self):
        t0 = self.create_drs(OTHER_NS, {"o-log": ("BackupLog", "weekly-1"),
                                        "o-rvi": ("RestoreVolumeInfo", "weekly-1-r2")})
        self.create_drs(NS, {"v-log": ("BackupLog", "nightly-1")})
        got = self.wait_drs(OTHER_NS, ["o-log", "o-rvi"], terminal, "requests in ns other")
        t1 = time.time()
        self.check_processed(got["o-log"], object_key("BackupLog", "weekly-1"), t0, t1)
        self.check_processed(got["o-rvi"], object_key("RestoreVolumeInfo", "weekly-1-r2"), t0, t1)
        got = self.wait_drs(NS, ["v-log"], terminal, "the request in ns velero")
        self.check_processed(got["v-log"], object_key("BackupLog", "nightly-1"), t0, time.time())


if __name__ == "__main__":
    unittest.main(verbosity=2)
