#!/usr/bin/python3
"""bench/presign_ref/sign_botocore.py — the botocore reference for bench_presign (issue 8 item 5).

    /usr/bin/python3 sign_botocore.py --n N [--runs R] [--warmup W]

Presigns GetObject URLs with Debian's python3-botocore the way an application does (one
client, one generate_presigned_url("get_object", ...) per URL) with the inputs bench_presign
gives its own signer: static credentials AKIAIOSFODNN7EXAMPLE + secret + session token,
region us-east-1, endpoint http://minio.velero.svc:9000 path-style, bucket "velero", keys
"pfx/backups/b<i>/b<i>-logs.gz" for i < N, ExpiresIn 600, signing time frozen at
2026-01-01T00:00:00Z. The clock is frozen by replacing the `datetime` module botocore.auth
sees with a namespace whose datetime.utcnow() returns that instant (a plain subclass, so
the freeze itself costs nothing measurable, unlike a MagicMock). botocore derives the
signing key on every URL: it has no key cache.

W untimed warm-up URLs (default min(N, 500)), then R timed runs of N. Output on stdout:
    version <botocore version and location, python version>
    url <the URL for i = 0>
    run <URLs per CPU-second>    (one line per run; time.process_time, as bench_presign)
Without botocore it prints only "skip <why>" and exits 0 (bench_presign then skips this
reference in one line); 2 for bad usage.
"""
import argparse
import datetime
import sys
import time
import types

try:
    import botocore
    import botocore.auth
    import botocore.session
    from botocore.config import Config
except ImportError:
    print("skip python3-botocore is not installed (apt-get install python3-botocore)")
    sys.exit(0)

FIXED = datetime.datetime(2026, 1, 1, 0, 0, 0)


class FrozenDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED


def freeze_clock():
    botocore.auth.datetime = types.SimpleNamespace(datetime=FrozenDatetime)


def make_client():
    session = botocore.session.get_session()
    return session.create_client(
        "s3", region_name="us-east-1", endpoint_url="http://minio.velero.svc:9000",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        aws_session_token="FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN0123456789abcdef",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def main():
    ap = argparse.ArgumentParser(description="botocore presign throughput")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=-1)
    a = ap.parse_args()
    if a.n < 1 or a.runs < 1:
        ap.error("--n and --runs must be at least 1")
    warmup = min(a.n, 500) if a.warmup < 0 else a.warmup
    freeze_clock()
    client = make_client()
    keys = ["pfx/backups/b%d/b%d-logs.gz" % (i, i) for i in range(a.n)]

    def sign(key):
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": "velero", "Key": key}, ExpiresIn=600)

    print("version botocore %s (%s), python %s" % (
        botocore.__version__, botocore.__file__.rsplit("/", 2)[0], sys.version.split()[0]), flush=True)
    print("url " + sign(keys[0]), flush=True)
    for i in range(warmup):
        sign(keys[i % a.n])
    sink = 0
    for _ in range(a.runs):
        t0 = time.process_time()
        for k in keys:
            sink += len(sign(k))
        print("run %.0f" % (a.n / (time.process_time() - t0)), flush=True)
    return 0 if sink > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
