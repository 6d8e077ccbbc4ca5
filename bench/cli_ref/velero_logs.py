#!/usr/bin/python3
"""bench/cli_ref/velero_logs.py — `velero backup logs NAME` re-done with the official Python
client, following Velero's CLI algorithm (pkg/cmd/util/downloadrequest/downloadrequest.go,
V118/NEW; the shared spec velero.md, §6.2). The reference of bench/bench_cli.py.

    velero_logs.py [--kubeconfig FILE] [-n NS] [--timeout SECONDS] [--timing] NAME

1. Loads the kubeconfig vreq would use (--kubeconfig, else $KUBECONFIG, else ~/.kube/config)
   with kubernetes.config.load_kube_config; namespace -n, else $VELERO_NAMESPACE, else velero.
2. Creates DownloadRequest <NAME>-<random UUIDv4> (spec.target BackupLog/NAME) through
   CustomObjectsApi on velero.io/v1 downloadrequests.
3. Polls it with GET on a 25 ms ticker (first GET one tick after the create); any GET error
   aborts; status.phase Failed stops with status.message; it stops when status.phase is
   Processed with a downloadURL. The whole wait is bounded by --timeout (default 60 s, the
   CLI's 1m) with Velero's timeout message.
4. Deletes the request. Velero's own CLI leaves it to the server's garbage collection; vreq
   deletes it, so the reference does too and both do the same API work.
5. GETs status.downloadURL with urllib (the URL is used exactly as given: it is presigned),
   gunzips and writes the log to stdout.

With --timing it prints one line "velero_logs: create-to-deleted-ms MS" on stderr (the time
from just before the create to just after the delete, i.e. steps 2-4), for the benchmark.
Exit status 0 on success; 1 on any failure, with one line "velero_logs: ..." on stderr (the
presigned URL is never printed).
"""

import argparse
import gzip
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "velero.io", "v1", "downloadrequests"
TICK_S = 0.025
URL_TIMEOUT_MSG = ("download request download url timeout, check velero server logs for "
                   "errors. backup storage location may not be available")


class Failure(Exception):
    """A failure to report as one line on stderr."""


def parse_args(argv):
    p = argparse.ArgumentParser(prog="velero_logs.py",
                                description="velero backup logs NAME, Velero's algorithm")
    p.add_argument("name", metavar="NAME", help="the Backup")
    p.add_argument("--kubeconfig", help="kubeconfig (else $KUBECONFIG, else ~/.kube/config)")
    p.add_argument("-n", "--namespace",
                   default=os.environ.get("VELERO_NAMESPACE") or "velero",
                   help="Velero namespace (else $VELERO_NAMESPACE, else velero)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for the download URL and the download (default 60)")
    p.add_argument("--timing", action="store_true",
                   help="print create-to-deleted-ms on stderr")
    return p.parse_args(argv)


def new_request(ns, backup):
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "DownloadRequest",
            "metadata": {"namespace": ns, "name": f"{backup}-{uuid.uuid4()}"},
            "spec": {"target": {"kind": "BackupLog", "name": backup}}}


def api_error(what, e):
    return Failure(f"{what}: HTTP {e.status} {e.reason}")


def wait_processed(api, ns, name, deadline):
    """The request's status once Processed with a URL; GET every 25 ms on a ticker."""
    tick = time.monotonic()
    while True:
        tick += TICK_S
        now = time.monotonic()
        if tick >= deadline:
            raise Failure(URL_TIMEOUT_MSG)
        if tick > now:
            time.sleep(tick - now)
        else:
            tick = now  # a slow GET: a Go ticker drops the missed ticks
        try:
            obj = api.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
        except ApiException as e:
            raise api_error(f"getting download request {name}", e) from None
        status = obj.get("status") or {}
        if status.get("phase") == "Failed":
            raise Failure(status.get("message") or
                          "download request failed, check velero server logs for errors")
        if status.get("phase") == "Processed" and status.get("downloadURL"):
            return status


def fetch(url, deadline):
    """The body at url (exactly as given), gunzipped."""
    left = max(0.001, deadline - time.monotonic())
    try:
        with urllib.request.urlopen(url, timeout=left) as resp:
            body = resp.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            raise Failure("file not found") from None
        raise Failure(f"request failed: HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise Failure(f"download failed: {reason}") from None
    try:
        return gzip.decompress(body)
    except (OSError, EOFError) as e:
        raise Failure(f"cannot gunzip the log: {e}") from None


def backup_logs(args):
    config.load_kube_config(config_file=args.kubeconfig)
    api = client.CustomObjectsApi()
    deadline = time.monotonic() + args.timeout
    body = new_request(args.namespace, args.name)
    name = body["metadata"]["name"]
    t0 = time.perf_counter()
    try:
        api.create_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, body)
    except ApiException as e:
        raise api_error("creating the download request", e) from None
    try:
        status = wait_processed(api, args.namespace, name, deadline)
    finally:
        try:
            api.delete_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, name)
        except ApiException as e:
            if e.status != 404:
                print(f"velero_logs: deleting download request {name}: HTTP {e.status}",
                      file=sys.stderr)
        except urllib3.exceptions.HTTPError as e:
            print(f"velero_logs: deleting download request {name}: {e}", file=sys.stderr)
    if args.timing:
        ms = (time.perf_counter() - t0) * 1000.0
        print(f"velero_logs: create-to-deleted-ms {ms:.3f}", file=sys.stderr)
    return fetch(status["downloadURL"], deadline)


def main(argv):
    args = parse_args(argv)
    try:
        log = backup_logs(args)
    except Failure as e:
        print(f"velero_logs: {e}", file=sys.stderr)
        return 1
    except (config.ConfigException, urllib3.exceptions.HTTPError, OSError) as e:
        print(f"velero_logs: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(log)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
