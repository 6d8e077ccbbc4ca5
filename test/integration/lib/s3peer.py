"""test/integration/lib/s3peer.py — the signature-verifying S3 peer for python tests.

The peer is @20minutes/s3rver 4.0.4 (presign.md §7.2), started by test/s3peer/server.js,
path-style only, account S3RVER / S3RVER. This module:

- ensure_installed(): runs scripts/s3peer-install (idempotent, offline once installed);
  returns None when the peer is usable, else a one-line reason (tests then exit 77).
- S3Peer(workdir, buckets): starts the peer on 127.0.0.1:0; .url, .host ("127.0.0.1:PORT"),
  .port; stop() (SIGTERM, exit 0 expected).
- start_or_skip(prefix, buckets): for setUpModule, a new work dir and an S3Peer in it, or
  exit 77 with one "SKIP: why" line when ensure_installed() says no.
- An independent SigV4 signer written from the AWS documentation (not shared with vreqd's C
  signer): presign_get() builds a query-presigned GET URL, put_object() uploads with a
  header-signed PUT carrying the payload's SHA-256.
- http_get(url) -> (status, body bytes).
"""

import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import subprocess
import sys
import urllib.parse

import vrproc

ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
REGION = "us-east-1"
_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("VR_SOURCE_DIR") or os.path.abspath(os.path.join(_HERE, "../../.."))
PEER_DIR = os.path.join(SOURCE_DIR, "test", "s3peer")


def ensure_installed():
    """None when node + the pinned peer are usable, else one line saying why not."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed; the S3 peer needs node >= 20 and npm"
    script = os.path.join(SOURCE_DIR, "scripts", "s3peer-install")
    r = subprocess.run([script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=600)
    if r.returncode != 0:
        last = r.stdout.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return f"the S3 peer could not be installed: {last[0]}"
    return None


def start_or_skip(prefix, buckets=("velero",)):
    """For setUpModule: (work dir, S3Peer with buckets). When node or the peer cannot be
    installed, prints one "SKIP: why" line and exits 77 (ctest: skipped)."""
    why = ensure_installed()
    if why:
        print(f"SKIP: {why}")
        sys.exit(77)
    workdir = vrproc.workdir(prefix)
    try:
        return workdir, S3Peer(workdir.name, buckets=buckets)
    except BaseException:
        workdir.cleanup()
        raise


class S3Peer(vrproc.Proc):
    """server.js on 127.0.0.1:`port` (0 = any) with data in workdir/s3data."""

    def __init__(self, workdir, buckets=("velero",), port=0, log=False):
        argv = ["node", os.path.join(PEER_DIR, "server.js"), "--directory",
                os.path.join(workdir, "s3data"), "--port", str(port)]
        for b in buckets:
            argv += ["--bucket", b]
        if log:
            argv.append("--log")
        super().__init__("s3peer", argv, workdir,
                         ready_re=r"s3peer listening on (http://127\.0\.0\.1:(\d+))")
        self.url = self.ready.group(1)
        self.port = int(self.ready.group(2))
        self.host = f"127.0.0.1:{self.port}"


# ---- SigV4 (AWS S3 API Reference: "Authenticating Requests: Using Query Parameters" and
# "Signature Calculations for the Authorization Header") ----

def uri_encode(s, keep_slash):
    """RFC 3986 UriEncode: unreserved kept, everything else %XX of its UTF-8 bytes."""
    return urllib.parse.quote(s, safe="/~" if keep_slash else "~")


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region, service="s3"):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _sign(secret, amz_date, region, canonical_request):
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical_request.encode()).hexdigest()])
    return hmac.new(signing_key(secret, amz_date[:8], region), sts.encode(),
                    hashlib.sha256).hexdigest()


def _amz_date(now):
    return now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def presign_get(host, bucket, key, expires=600, now=None, access=ACCESS_KEY,
                secret=SECRET_KEY, region=REGION, token=None, scheme="http"):
    """Path-style presigned GET URL for http://host/bucket/key, signed for `host` as given."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = _amz_date(now)
    path = "/" + uri_encode(bucket, False) + "/" + uri_encode(key, True)
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access}/{amz_date[:8]}/{region}/s3/aws4_request",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    if token:
        params["X-Amz-Security-Token"] = token
    query = "&".join(f"{uri_encode(k, False)}={uri_encode(v, False)}"
                     for k, v in sorted(params.items()))
    creq = "\n".join(["GET", path, query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"])
    sig = _sign(secret, amz_date, region, creq)
    return f"{scheme}://{host}{path}?{query}&X-Amz-Signature={sig}"


def put_object(host, bucket, key, data, access=ACCESS_KEY, secret=SECRET_KEY, region=REGION,
               content_type="application/octet-stream"):
    """PUT data at bucket/key with Authorization-header SigV4 (payload hash signed); raises
    AssertionError unless the peer answers 200."""
    amz_date = _amz_date(datetime.datetime.now(datetime.timezone.utc))
    path = "/" + uri_encode(bucket, False) + "/" + uri_encode(key, True)
    payload_hash = hashlib.sha256(data).hexdigest()
    headers = {"content-type": content_type, "host": host,
               "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    names = sorted(headers)
    creq = "\n".join(["PUT", path, ""] + [f"{n}:{headers[n]}" for n in names] +
                     ["", ";".join(names), payload_hash])
    sig = _sign(secret, amz_date, region, creq)
    auth = (f"AWS4-HMAC-SHA256 Credential={access}/{amz_date[:8]}/{region}/s3/aws4_request, "
            f"SignedHeaders={';'.join(names)}, Signature={sig}")
    hostname, port = host.rsplit(":", 1)
    conn = http.client.HTTPConnection(hostname, int(port), timeout=10)
    try:
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for n in names:
            conn.putheader(n, headers[n])
        conn.putheader("Authorization", auth)
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise AssertionError(f"PUT {path} -> {resp.status}: {body[:400]!r}")


def http_get(url, timeout=10):
    """GET url exactly as given (no re-encoding); returns (status, body bytes)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        target = u.path + ("?" + u.query if u.query else "")
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", u.netloc)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
