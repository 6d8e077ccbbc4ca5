#!/usr/bin/python3
"""Cross-check vreq's S3 SigV4 presigner against Debian's python3-botocore (presign.md §7.4).

200 random cases (keys with unicode and reserved characters, regions, endpoints with and
without ports, IPv6, upper-case hosts, path-style or virtual-hosted, with and without session
tokens, random times and lifetimes) are signed by botocore's generate_presigned_url with a
frozen clock and by our signer, driven through `$VR_BIN_DIR/test_s3 --stdin-cases`:

- "bsl" cases go through vr_s3_presign_get (config parsing, endpoint, addressing style,
  ports, key encoding); botocore gets the same addressing style and the URLs must agree on
  scheme, host (botocore keeps an explicit default port and the host's case in the URL but
  not in what it signs, so hosts are compared normalised), path and every query parameter,
  X-Amz-Signature included;
- "sigv4" cases add signed extras (versionId, response-* overrides) through botocore's
  GetObject parameters and feed them, with botocore's host and path, to vr_sigv4_presign;
  the signatures must be equal.

Exit 77 (skipped) when botocore cannot be imported. VR_SEED fixes the random seed.
"""
import datetime
import json
import os
import random
import subprocess
import sys
from unittest import mock
from urllib.parse import parse_qsl, unquote, urlsplit

try:
    import botocore.session
    from botocore.config import Config
except ImportError:
    print("presign_crosscheck: python3-botocore is not installed (apt-get install python3-botocore)")
    sys.exit(77)

N_CASES = 200
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
           "sa-east-1", "ca-central-1", "minio", "default"]
HOSTS = ["minio.local", "s3.example.com", "MinIO.Example.COM", "127.0.0.1", "10.1.2.3",
         "[::1]", "[fd00::17]", "rgw.ceph.svc.cluster.local"]
KEY_CHARS = ("abcxyzABCXYZ0189-._~ /+=!'()*%&$,;:@?#[]\"<>^`{|}"
             "\u00fc\u00e9\u65e5\u672c\u1234\U0001F600")
EXTRA_PARAMS = [("VersionId", "versionId"), ("ResponseContentDisposition", "response-content-disposition"),
                ("ResponseContentType", "response-content-type"), ("ResponseCacheControl", "response-cache-control")]
EXTRA_VALUES = ["attachment; filename=\"a b.txt\"", "text/plain", "no-cache", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
                "x=y&z", "\u00fc/\u65e5 +%"]


def rand_key(rng):
    parts = []
    for _ in range(rng.randint(1, 5)):
        parts.append("".join(rng.choice(KEY_CHARS) for _ in range(rng.randint(0, 12))))
    key = "/".join(parts)
    if rng.random() < 0.1:
        key += "/"
    if rng.random() < 0.05:
        key = "dir//" + key
    return key or "k"


def rand_bucket(rng):
    alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    name = rng.choice(alnum) + "".join(rng.choice(alnum + "-") for _ in range(rng.randint(2, 20)))
    if rng.random() < 0.2:
        name += "." + "".join(rng.choice(alnum) for _ in range(rng.randint(1, 6)))
    return name + rng.choice(alnum)


def rand_endpoint(rng):
    if rng.random() < 0.25:
        return None
    scheme = rng.choice(["http", "https"])
    port = rng.choice([None, None, 80, 443, 9000, 8443, 65535])
    host = rng.choice(HOSTS)
    url = "%s://%s" % (scheme, host)
    if port:
        url += ":%d" % port
    return url


def rand_creds(rng):
    hexd = "0123456789ABCDEF"
    akid = "AKIA" + "".join(rng.choice(hexd) for _ in range(16))
    secret = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789+/") for _ in range(40))
    token = None
    if rng.random() < 0.5:
        token = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789+/=") for _ in range(rng.randint(20, 300)))
    return akid, secret, token


def norm_host(netloc, scheme):
    host = netloc.lower()
    for suffix, sch in ((":80", "http"), (":443", "https")):
        if scheme == sch and host.endswith(suffix):
            host = host[: -len(suffix)]
    return host


class Ours:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--stdin-cases"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def ask(self, case):
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("test_s3 --stdin-cases exited")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


def botocore_url(session, c, style, endpoint, extras):
    client = session.create_client(
        "s3", region_name=c["region"], endpoint_url=endpoint,
        aws_access_key_id=c["access_key_id"], aws_secret_access_key=c["secret_access_key"],
        aws_session_token=c.get("session_token"),
        config=Config(signature_version="s3v4", s3={"addressing_style": style}))
    params = {"Bucket": c["bucket"], "Key": c["key"]}
    params.update(extras)
    return client.generate_presigned_url("get_object", Params=params, ExpiresIn=c["expires"])


def make_case(rng):
    akid, secret, token = rand_creds(rng)
    endpoint = rand_endpoint(rng)
    config = {"region": rng.choice(REGIONS)}
    if endpoint:
        config["s3Url"] = endpoint
    if rng.random() < 0.4:
        config["s3ForcePathStyle"] = rng.choice(["true", "1", "True"])
    c = {"mode": "bsl", "config": config, "bucket": rand_bucket(rng), "prefix": "",
         "key": rand_key(rng), "access_key_id": akid, "secret_access_key": secret,
         "region": config["region"], "expires": rng.randint(1, 604800),
         "now_s": rng.randint(946684800, 2145916800)}
    if token:
        c["session_token"] = token
    return c


def check_bsl(session, ours, c):
    mine = ours.ask(c)
    if "error" in mine:
        return "our signer failed: %s" % mine
    mu = urlsplit(mine["url"])
    endpoint = c["config"].get("s3Url") or "https://s3.%s.amazonaws.com" % c["region"]
    ep = urlsplit(endpoint)
    path_style = norm_host(mu.netloc, mu.scheme) == norm_host(ep.netloc, ep.scheme)
    theirs = botocore_url(session, c, "path" if path_style else "virtual", endpoint, {})
    tu = urlsplit(theirs)
    if (mu.scheme, mu.netloc, mu.path) != (tu.scheme, norm_host(tu.netloc, tu.scheme), tu.path):
        return "URL target differs:\n ours     %s\n botocore %s" % (mine["url"], theirs)
    if sorted(parse_qsl(mu.query, keep_blank_values=True)) != sorted(parse_qsl(tu.query, keep_blank_values=True)):
        return "query differs:\n ours     %s\n botocore %s" % (mine["url"], theirs)
    return None


def check_sigv4(session, ours, c, rng):
    extras = dict((boto, rng.choice(EXTRA_VALUES)) for boto, _ in rng.sample(EXTRA_PARAMS, rng.randint(1, 3)))
    endpoint = c["config"].get("s3Url") or "https://s3.%s.amazonaws.com" % c["region"]
    style = "path" if c["config"].get("s3ForcePathStyle") else rng.choice(["path", "virtual"])
    hostname = urlsplit(endpoint).hostname or ""
    if ":" in hostname or hostname.replace(".", "").isdigit():
        style = "path"  # no virtual hosting on an IP literal
    theirs = botocore_url(session, c, style, endpoint, extras)
    tu = urlsplit(theirs)
    q = parse_qsl(tu.query, keep_blank_values=True)
    params = [[k, v] for k, v in q if not k.startswith("X-Amz-")]
    want = dict(q)["X-Amz-Signature"]
    case = {"mode": "sigv4", "method": "GET", "scheme": tu.scheme, "host": norm_host(tu.netloc, tu.scheme),
            "path": unquote(tu.path), "params": params, "service": "s3", "region": c["region"],
            "payload_hash": "UNSIGNED-PAYLOAD", "access_key_id": c["access_key_id"],
            "secret_access_key": c["secret_access_key"], "expires": c["expires"], "now_s": c["now_s"]}
    if c.get("session_token"):
        case["session_token"] = c["session_token"]
    mine = ours.ask(case)
    if "error" in mine:
        return "our signer failed: %s" % mine
    got = dict(parse_qsl(urlsplit(mine["url"]).query))["X-Amz-Signature"]
    if got != want:
        return "signature differs for %s:\n ours %s\n canonical request:\n%s" % (theirs, mine["url"], mine["canonical_request"])
    return None


def main():
    binary = os.path.join(os.environ.get("VR_BIN_DIR", "build/bin"), "test_s3")
    if not os.access(binary, os.X_OK):
        print("presign_crosscheck: %s not found (build test_s3 first)" % binary)
        return 1
    seed = int(os.environ.get("VR_SEED", "20130524"))
    rng = random.Random(seed)
    session = botocore.session.get_session()
    ours = Ours(binary)
    failures = []
    counts = {"bsl": 0, "sigv4": 0}
    with mock.patch("botocore.auth.datetime") as dt:
        for i in range(N_CASES):
            c = make_case(rng)
            dt.datetime.utcnow.return_value = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=c["now_s"])
            if i % 4 == 3:
                err = check_sigv4(session, ours, c, rng)
                counts["sigv4"] += 1
            else:
                err = check_bsl(session, ours, c)
                counts["bsl"] += 1
            if err:
                failures.append("case %d (%s): %s" % (i, json.dumps(c, ensure_ascii=False), err))
    rc = ours.close()
    if rc != 0:
        failures.append("test_s3 --stdin-cases exited with %d" % rc)
    for f in failures[:10]:
        print(f)
    print("presign_crosscheck: seed %d, %d bsl + %d sigv4 cases, %d mismatches"
          % (seed, counts["bsl"], counts["sigv4"], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
