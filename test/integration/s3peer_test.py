#!/usr/bin/python3
"""s3peer_test: the S3 peer used by the end-to-end tests really verifies SigV4.

A 200 from a peer that accepts any signature (s3rver 3.7.1, presign.md §7.1) proves nothing,
so this pins the peer's behaviour (presign.md §7.3): URLs signed correctly — by this test's
own python signer (lib/s3peer.py) and, when importable, by botocore — download exactly the
stored bytes, keys with spaces, UTF-8, `+`, `=`, `!'()*` and `~` included; a flipped
signature character, the wrong secret, the wrong host port, a host without its port, a
changed key, a changed X-Amz-Expires, an unknown access key and an expired URL are refused
with 403; a header-signed PUT with the wrong secret is refused too. The peer exits 0 on
SIGTERM.

Environment: VR_SOURCE_DIR (repository; default: derived from this file's path).
Exits 77 with one line when node/npm or the peer cannot be installed.
"""

import datetime
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import s3peer  # noqa: E402
import vrproc  # noqa: E402

BUCKET = "bkt"
KEYS = ["plain.txt", "dir/sub/file.gz", "with space.txt", "unicodé/ключ.bin",
        "plus+equals=.txt", "bang!quote'paren()star*.txt", "tilde~pct%.txt"]
PEER = None
WORKDIR = None


def setUpModule():
    global PEER, WORKDIR
    why = s3peer.ensure_installed()
    if why:
        print(f"SKIP: {why}")
        sys.exit(77)
    WORKDIR = vrproc.workdir("vr-s3peer-")
    PEER = s3peer.S3Peer(WORKDIR.name, buckets=[BUCKET])


def tearDownModule():
    if PEER:
        try:
            PEER.stop(check=True)
        finally:
            WORKDIR.cleanup()


def body_for(key):
    """Distinct binary content per key (all 256 byte values, so no text-mode mangling)."""
    return key.encode() + b"\x00" + bytes(range(256)) * 3


def with_query(url, name, value):
    """url with query parameter `name` replaced by `value` (raw, already encoded)."""
    base, query = url.split("?", 1)
    parts = [p if not p.startswith(name + "=") else f"{name}={value}" for p in query.split("&")]
    return base + "?" + "&".join(parts)


def query_value(url, name):
    for p in url.split("?", 1)[1].split("&"):
        if p.startswith(name + "="):
            return p[len(name) + 1:]
    raise KeyError(name)


class PeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for k in KEYS:
            s3peer.put_object(PEER.host, BUCKET, k, body_for(k))

    def assert_get(self, url, code, body=None, text=None):
        status, got = s3peer.http_get(url)
        self.assertEqual(status, code, f"GET {url}: {got[:400]!r}")
        if body is not None:
            self.assertEqual(got, body, f"GET {url}: wrong bytes")
        if text is not None:
            self.assertIn(text, got.decode(errors="replace"))

    def test_installed_version_is_the_verifying_fork(self):
        meta = os.path.join(s3peer.PEER_DIR, "node_modules", "@20minutes", "s3rver",
                            "package.json")
        with open(meta) as f:
            self.assertEqual(json.load(f)["version"], "4.0.4")

    def test_correct_presign_downloads_exact_bytes(self):
        for k in KEYS:
            with self.subTest(key=k):
                self.assert_get(s3peer.presign_get(PEER.host, BUCKET, k), 200, body_for(k))

    def test_botocore_presign_downloads_exact_bytes(self):
        try:
            import botocore.config
            import botocore.session
        except ImportError:
            self.skipTest("botocore is not importable")
        sess = botocore.session.get_session()
        client = sess.create_client(
            "s3", region_name="us-east-1", endpoint_url=PEER.url,
            aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
            config=botocore.config.Config(signature_version="s3v4",
                                          s3={"addressing_style": "path"}))
        for k in KEYS:
            with self.subTest(key=k):
                url = client.generate_presigned_url(
                    "get_object", Params={"Bucket": BUCKET, "Key": k}, ExpiresIn=300)
                self.assert_get(url, 200, body_for(k))

    def test_flipped_signature_character_is_refused(self):
        url = s3peer.presign_get(PEER.host, BUCKET, KEYS[0])
        sig = query_value(url, "X-Amz-Signature")
        for i in (0, 31, 63):
            bad = sig[:i] + ("0" if sig[i] != "0" else "1") + sig[i + 1:]
            with self.subTest(position=i):
                self.assert_get(with_query(url, "X-Amz-Signature", bad), 403,
                                text="SignatureDoesNotMatch")

    def test_wrong_secret_is_refused(self):
        url = s3peer.presign_get(PEER.host, BUCKET, KEYS[0], secret="S3RVER-wrong")
        self.assert_get(url, 403, text="SignatureDoesNotMatch")

    def test_wrong_host_is_refused(self):
        real = PEER.host
        for signed_for in (f"127.0.0.1:{PEER.port + 1}", "127.0.0.1", f"localhost:{PEER.port}"):
            with self.subTest(signed_for=signed_for):
                url = s3peer.presign_get(signed_for, BUCKET, KEYS[0])
                self.assert_get(url.replace(signed_for, real, 1), 403,
                                text="SignatureDoesNotMatch")

    def test_changed_key_is_refused(self):
        url = s3peer.presign_get(PEER.host, BUCKET, KEYS[0])
        other = url.replace("/" + KEYS[0] + "?", "/dir/sub/file.gz?", 1)
        self.assertNotEqual(url, other)
        self.assert_get(other, 403, text="SignatureDoesNotMatch")

    def test_changed_expiry_is_refused(self):
        url = s3peer.presign_get(PEER.host, BUCKET, KEYS[0], expires=600)
        self.assert_get(with_query(url, "X-Amz-Expires", "601"), 403,
                        text="SignatureDoesNotMatch")

    def test_unknown_access_key_is_refused(self):
        url = s3peer.presign_get(PEER.host, BUCKET, KEYS[0], access="AKIDEXAMPLE")
        self.assert_get(url, 403, text="InvalidAccessKeyId")

    def test_expired_url_is_refused(self):
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
        url = s3peer.presign_get(PEER.host, BUCKET, KEYS[0], expires=60, now=past)
        self.assert_get(url, 403, text="expired")
        # Same date with a long enough validity is fine: only the expiry was at fault.
        url = s3peer.presign_get(PEER.host, BUCKET, KEYS[0], expires=3600, now=past)
        self.assert_get(url, 200, body_for(KEYS[0]))

    def test_put_with_wrong_secret_is_refused(self):
        with self.assertRaisesRegex(AssertionError, "403.*SignatureDoesNotMatch"):
            s3peer.put_object(PEER.host, BUCKET, "evil.txt", b"x", secret="nope")
        self.assert_get(s3peer.presign_get(PEER.host, BUCKET, "evil.txt"), 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
