#!/usr/bin/python3
"""kubesim_api_test: kubesim's HTTP protocol, byte for byte, with the standard library only.

Starts the kubesim binary ($VR_BIN_DIR/kubesim) on 127.0.0.1:0 and drives it with
http.client: discovery, CRUD, list selectors, watch streams (resume, 410, bookmarks,
timeouts, dropped streams), the status subresource and phase variants, delete
preconditions, no-op writes, fault injection, bearer-token auth, stats, malformed input,
--objects and --kubeconfig-out. Every kubesim is stopped with SIGTERM and must exit 0.
"""

import base64
import http.client
import json
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

NS = "velero"
DR = f"/apis/velero.io/v1/namespaces/{NS}/downloadrequests"
START_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 10


def fixture(name):
    base = os.environ.get("VR_FIXTURES") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
    return os.path.join(base, "kubesim", name)


class Kubesim:
    """One kubesim process; stop() sends SIGTERM and checks the exit code."""

    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory(prefix="vr-kubesim-api-")
        self.err = open(os.path.join(self.dir.name, "kubesim.err"), "w+b")
        binary = os.path.join(os.environ["VR_BIN_DIR"], "kubesim")
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=self.err)
        try:
            self.host, self.port = self._wait_listening()
        except Exception:
            self.stop(check=False)
            raise

    def _wait_listening(self):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(START_TIMEOUT_S):
            raise RuntimeError(f"kubesim printed nothing: {self.stderr()}")
        line = self.proc.stdout.readline().decode(errors="replace").rstrip("\n")
        m = re.fullmatch(r"kubesim listening on http://(127\.0\.0\.1):(\d+)", line)
        if not m:
            raise RuntimeError(f"unexpected ready line {line!r}: {self.stderr()}")
        return m.group(1), int(m.group(2))

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def stop(self, check=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("kubesim did not exit on SIGTERM")
        rc = self.proc.returncode
        self.proc.stdout.close()
        err = self.stderr()
        self.err.close()
        self.dir.cleanup()
        if check and rc != 0:
            raise AssertionError(f"kubesim exited {rc}: {err}")

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT_S)

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers, parsed JSON or text)."""
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            ctype = r.getheader("Content-Type", "")
            doc = json.loads(data) if ctype == "application/json" and data else data
            return r.status, r, doc
        finally:
            c.close()

    def watch(self, path, headers=None):
        """Opens a watch; returns (connection, response) once the headers arrived."""
        c = self.conn()
        c.request("GET", path, headers=headers or {})
        return c, c.getresponse()

    def stats(self):
        status, _, doc = self.request("GET", "/kubesim/stats")
        assert status == 200, status
        return doc


class EventReader:
    """Splits a chunked watch body into events with read1(), which (unlike readline())
    raises IncompleteRead when the stream is cut without the final chunk."""

    def __init__(self, resp):
        self.resp = resp
        self.buf = b""

    def next(self):
        """The next event, or None at the clean end of the stream."""
        while b"\n" not in self.buf:
            data = self.resp.read1(65536)
            if not data:
                assert self.buf == b"", f"partial event at end: {self.buf!r}"
                assert self.resp.isclosed(), "stream ended without the final chunk"
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def all(self):
        events = []
        while (e := self.next()) is not None:
            events.append(e)
        return events


def tok_of(doc):
    """A continue token in kubesim's format (base64url of JSON, no padding)."""
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def read_events(resp):
    """Reads a watch stream to its clean end; returns the events."""
    return EventReader(resp).all()


def dr_body(name=None, generate=None, **spec):
    meta = {"namespace": NS}
    if name:
        meta["name"] = name
    if generate:
        meta["generateName"] = generate
    return {"apiVersion": "velero.io/v1", "kind": "DownloadRequest", "metadata": meta,
            "spec": spec or {"target": {"kind": "BackupLog", "name": "b1"}}}


class KubesimApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Kubesim("--bookmark-interval", "200ms", "--log-level", "debug")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def create(self, name, sim=None):
        status, _, doc = (sim or self.sim).request("POST", DR, dr_body(name))
        self.assertEqual(status, 201, doc)
        return doc

    def assertStatus(self, doc, code, reason):
        self.assertEqual(doc["kind"], "Status")
        self.assertEqual(doc["apiVersion"], "v1")
        self.assertEqual(doc["status"], "Failure")
        self.assertEqual(doc["code"], code)
        self.assertEqual(doc["reason"], reason)
        self.assertIsInstance(doc["message"], str)

    # ---- discovery ----

    def test_discovery(self):
        s = self.sim
        status, r, doc = s.request("GET", "/version?timeout=32s")
        self.assertEqual((status, doc["major"], doc["minor"]), (200, "1", "32"))
        self.assertEqual(doc["gitVersion"], "v1.32.0")
        accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json")
        status, r, doc = s.request("GET", "/api", headers={"Accept": accept})
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertEqual((doc["kind"], doc["versions"]), ("APIVersions", ["v1"]))
        self.assertEqual(doc["serverAddressByClientCIDRs"][0]["clientCIDR"], "0.0.0.0/0")
        status, r, doc = s.request("GET", "/api/v1")
        names = {x["name"] for x in doc["resources"]}
        self.assertTrue({"namespaces", "secrets"} <= names, names)
        status, r, doc = s.request("GET", "/apis", headers={"Accept": accept})
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertEqual(doc["kind"], "APIGroupList")
        groups = {g["name"]: g for g in doc["groups"]}
        for g in ("velero.io", "coordination.k8s.io", "apiextensions.k8s.io"):
            self.assertIn(g, groups)
        self.assertEqual(groups["velero.io"]["preferredVersion"]["groupVersion"], "velero.io/v1")
        status, r, doc = s.request("GET", "/apis/velero.io/v1")
        self.assertEqual((doc["kind"], doc["groupVersion"]), ("APIResourceList", "velero.io/v1"))
        res = {x["name"]: x for x in doc["resources"]}
        dr = res["downloadrequests"]
        self.assertEqual((dr["kind"], dr["namespaced"]), ("DownloadRequest", True))
        self.assertTrue({"get", "list", "watch", "create", "patch", "update", "delete"}
                        <= set(dr["verbs"]))
        self.assertEqual(res["serverstatusrequests"]["shortNames"], ["ssr"])
        self.assertNotIn("downloadrequests/status", res)  # default: subresource off
        status, r, doc = s.request("GET", "/apis/apiextensions.k8s.io/v1")
        crd = doc["resources"][0]
        self.assertEqual((crd["namespaced"], sorted(crd["verbs"])),
                         (False, ["get", "list", "watch"]))

    def test_openapi(self):
        status, r, body = self.sim.request(
            "GET", "/openapi/v2",
            headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"),
                         "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        self.assertEqual(body, b"")
        status, _, _ = self.sim.request("GET", "/openapi/v3")
        self.assertEqual(status, 404)

    # ---- CRUD ----

    def test_crud(self):
        s = self.sim
        status, r, doc = s.request("POST", DR + "?fieldManager=kubectl-create",
                                   dr_body(generate="gen-"))
        self.assertEqual(status, 201, doc)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertRegex(doc["metadata"]["name"], r"^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual((doc["kind"], doc["apiVersion"]), ("DownloadRequest", "velero.io/v1"))
        obj = self.create("crud-a")
        meta = obj["metadata"]
        self.assertTrue(meta["uid"] and meta["resourceVersion"].isdigit())
        status, _, doc = s.request("POST", DR, dr_body("crud-a"))
        self.assertEqual(status, 409)
        self.assertStatus(doc, 409, "AlreadyExists")
        status, _, doc = s.request("GET", DR + "/crud-a")
        self.assertEqual((status, doc["metadata"]["uid"]), (200, meta["uid"]))
        self.assertEqual(doc["kind"], "DownloadRequest")
        status, _, doc = s.request("GET", DR + "/nope")
        self.assertEqual(status, 404)
        self.assertStatus(doc, 404, "NotFound")
        self.assertEqual(doc["message"], 'downloadrequests.velero.io "nope" not found')
        self.assertEqual(doc["details"]["kind"], "downloadrequests")
        obj["spec"]["target"]["name"] = "b2"
        status, _, put = s.request("PUT", DR + "/crud-a", obj)
        self.assertEqual(status, 200, put)
        self.assertNotEqual(put["metadata"]["resourceVersion"], meta["resourceVersion"])
        status, _, doc = s.request("PUT", DR + "/crud-a", obj)  # stale RV now
        self.assertEqual(status, 409)
        self.assertStatus(doc, 409, "Conflict")
        status, _, doc = s.request("DELETE", DR + "/crud-a")
        self.assertEqual((status, doc["status"]), (200, "Success"))
        status, _, _ = s.request("GET", DR + "/crud-a")
        self.assertEqual(status, 404)

    def test_list_field_selector(self):
        for n in ("sel-a", "sel-b"):
            self.create(n)
        status, r, doc = self.sim.request(
            "GET", DR + "?fieldSelector=metadata.name%3Dsel-a&limit=500&timeout=32s")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["kind"], "DownloadRequestList")
        self.assertTrue(doc["metadata"]["resourceVersion"].isdigit())
        self.assertEqual([i["metadata"]["name"] for i in doc["items"]], ["sel-a"])
        self.assertEqual(doc["items"][0]["kind"], "DownloadRequest")
        status, _, doc = self.sim.request("GET", DR + "?fieldSelector=metadata.name%3Dnone")
        self.assertEqual((status, doc["items"]), (200, []))
        status, _, doc = self.sim.request("GET", "/apis/velero.io/v1/downloadrequests")
        names = [i["metadata"]["name"] for i in doc["items"]]
        self.assertIn("sel-b", names)

    # ---- watch ----

    def test_watch_from_resource_version(self):
        s = self.sim
        obj = self.create("wrv-a")
        rv0 = obj["metadata"]["resourceVersion"]
        status, _, patched = s.request(
            "PATCH", DR + "/wrv-a", {"metadata": {"labels": {"x": "1"}}},
            headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(status, 200, patched)
        self.create("wrv-b")
        c, resp = s.watch(DR + f"?watch=1&resourceVersion={rv0}&timeoutSeconds=1")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        self.assertEqual(resp.getheader("Transfer-Encoding"), "chunked")
        events = [e for e in read_events(resp)]
        c.close()
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
        self.assertEqual(got, [("MODIFIED", "wrv-a"), ("ADDED", "wrv-b")])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        self.assertTrue(all(rv > int(rv0) for rv in rvs) and rvs == sorted(rvs))
        self.assertEqual(events[0]["object"]["metadata"]["resourceVersion"],
                         patched["metadata"]["resourceVersion"])

    def test_watch_live_and_object_path(self):
        s = self.sim
        self.create("live-a")
        c, resp = s.watch(DR + "/live-a?watch=true&timeoutSeconds=1")
        self.create("live-other")
        status, _, _ = s.request("DELETE", DR + "/live-a")
        self.assertEqual(status, 200)
        events = read_events(resp)
        c.close()
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
        self.assertEqual(got, [("ADDED", "live-a"), ("DELETED", "live-a")])

    def test_legacy_watch_path(self):
        s = self.sim
        rv = s.stats()["resource_version"]
        c, resp = s.watch(f"/apis/velero.io/v1/watch/namespaces/{NS}/downloadrequests"
                          f"?resourceVersion={rv}&timeoutSeconds=1")
        self.create("legacy-a")
        events = read_events(resp)
        c.close()
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "legacy-a")])

    def test_watch_expired_after_compact(self):
        s = self.sim
        obj = self.create("cmp-a")
        old = obj["metadata"]["resourceVersion"]
        self.create("cmp-b")
        status, _, doc = s.request("POST", "/kubesim/compact")
        self.assertEqual(status, 200, doc)
        c, resp = s.watch(DR + f"?watch=true&resourceVersion={old}")
        self.assertEqual(resp.status, 200)
        events = read_events(resp)  # ends cleanly after the ERROR
        c.close()
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["type"], "ERROR")
        err = events[0]["object"]
        self.assertEqual((err["kind"], err["code"], err["reason"]), ("Status", 410, "Expired"))
        self.assertIn("too old resource version", err["message"])

    def test_list_pagination(self):
        s = Kubesim()
        try:
            for i in range(5):
                self.create(f"page-{i}", sim=s)
            status, _, first = s.request("GET", DR + "?limit=2")
            self.assertEqual(status, 200, first)
            list_rv = first["metadata"]["resourceVersion"]
            names = [i["metadata"]["name"] for i in first["items"]]
            tok = first["metadata"]["continue"]
            self.assertRegex(tok, r"^[A-Za-z0-9_-]+$")
            pages = 1
            self.create("page-9", sim=s)  # after the first page, sorts last: shown
            while tok:
                q = urllib.parse.quote(tok, safe="")
                status, _, doc = s.request("GET", DR + f"?limit=2&continue={q}")
                self.assertEqual(status, 200, doc)
                self.assertEqual(doc["metadata"]["resourceVersion"], list_rv)
                self.assertLessEqual(len(doc["items"]), 2)
                names += [i["metadata"]["name"] for i in doc["items"]]
                tok = doc["metadata"].get("continue", "")
                pages += 1
            self.assertEqual(names, [f"page-{i}" for i in (0, 1, 2, 3, 4, 9)])
            self.assertEqual(pages, 3)
            # limit <= 0 or absent: everything, no token
            status, _, doc = s.request("GET", DR + "?limit=0")
            self.assertEqual((len(doc["items"]), doc["metadata"].get("continue")), (6, None))
            # a bad token, or a resourceVersion with continue: 400
            for bad in ("Zm9vYmFy", "!!", tok_of({"v": "meta.k8s.io/v1", "rv": "x"})):
                status, _, doc = s.request("GET", DR + "?limit=2&continue=" +
                                           urllib.parse.quote(bad, safe=""))
                self.assertEqual(status, 400, (bad, doc))
                self.assertStatus(doc, 400, "BadRequest")
            status, _, doc = s.request("GET", DR + "?limit=2")
            tok = doc["metadata"]["continue"]
            status, _, doc = s.request("GET", DR + f"?limit=2&resourceVersion=5&continue={tok}")
            self.assertEqual(status, 400, doc)
            # a token from before a compaction: 410 Expired
            status, _, _ = s.request("POST", "/kubesim/compact")
            self.assertEqual(status, 200)
            status, _, doc = s.request("GET", DR + f"?limit=2&continue={tok}")
            self.assertEqual(status, 410, doc)
            self.assertStatus(doc, 410, "Expired")
            self.assertIn("continue parameter is too old", doc["message"])
        finally:
            s.stop()

    def test_token_admin(self):
        s = Kubesim("--token", "first-token")
        try:
            auth = {"Authorization": "Bearer first-token"}
            self.assertEqual(s.request("GET", DR, headers=auth)[0], 200)
            status, _, doc = s.request("POST", "/kubesim/token", {"token": "second-token"})
            self.assertEqual((status, doc), (200, {"auth": True}))
            self.assertEqual(s.request("GET", DR, headers=auth)[0], 401)
            auth2 = {"Authorization": "Bearer second-token"}
            self.assertEqual(s.request("GET", DR, headers=auth2)[0], 200)
            status, _, doc = s.request("POST", "/kubesim/token", {"token": 5})
            self.assertEqual(status, 400, doc)
            status, _, doc = s.request("POST", "/kubesim/token", {"token": ""})
            self.assertEqual((status, doc), (200, {"auth": False}))
            self.assertEqual(s.request("GET", DR)[0], 200)
            self.assertNotIn("second-token", s.stderr())
        finally:
            s.stop()

    def test_watch_rv_too_large(self):
        rv = int(self.sim.stats()["resource_version"]) + 1000
        status, r, doc = self.sim.request("GET", DR + f"?watch=1&resourceVersion={rv}")
        self.assertEqual(status, 504)
        self.assertStatus(doc, 504, "Timeout")
        self.assertEqual(r.getheader("Retry-After"), "1")

    def test_watch_bookmarks(self):
        c, resp = self.sim.watch(DR + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=3")
        start = time.monotonic()
        bookmarks = [e for e in read_events(resp) if e["type"] == "BOOKMARK"]
        c.close()
        self.assertLess(time.monotonic() - start, 6)
        self.assertGreaterEqual(len(bookmarks), 3, bookmarks)  # every 200ms for 3 s
        obj = bookmarks[0]["object"]
        self.assertEqual(set(obj), {"kind", "apiVersion", "metadata"})
        self.assertEqual((obj["kind"], obj["apiVersion"]), ("DownloadRequest", "velero.io/v1"))
        self.assertEqual(set(obj["metadata"]), {"resourceVersion"})
        self.assertTrue(obj["metadata"]["resourceVersion"].isdigit())

    def test_no_bookmarks_unless_asked(self):
        c, resp = self.sim.watch(DR + "?watch=true&resourceVersion=0&timeoutSeconds=1&"
                                 "fieldSelector=metadata.name%3Dnothing-here")
        events = read_events(resp)
        c.close()
        self.assertEqual(events, [])

    def test_watch_timeout_ends_cleanly(self):
        start = time.monotonic()
        c, resp = self.sim.watch(DR + "?watch=true&timeoutSeconds=1")
        read_events(resp)  # IncompleteRead here would mean no final chunk
        elapsed = time.monotonic() - start
        c.close()
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5)

    def test_drop_watches(self):
        s = self.sim
        rv = s.stats()["resource_version"]
        c, resp = s.watch(DR + f"?watch=true&resourceVersion={rv}")
        self.create("drop-a")
        reader = EventReader(resp)
        self.assertEqual(reader.next()["type"], "ADDED")  # live events flow
        self.assertGreaterEqual(s.stats()["watches_open"], 1)
        status, _, doc = s.request("POST", "/kubesim/drop-watches")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(doc["dropped"], 1)
        with self.assertRaises((http.client.IncompleteRead, ConnectionError)):
            reader.all()
        c.close()
        self.assertEqual(s.stats()["watches_open"], 0)

    def test_watcher_gone_mid_stream(self):
        """A watcher that resets its connection is released; kubesim keeps serving."""
        s = self.sim
        rv = s.stats()["resource_version"]
        c, resp = s.watch(DR + f"?watch=true&resourceVersion={rv}")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sock.close()  # RST: kubesim's next writes fail
        resp.close()
        for i in range(5):
            self.create(f"gone-{i}")
        self.assertIsNone(s.proc.poll())
        self.assertEqual(s.stats()["watches_open"], 0)

    def test_watch_list_rejected(self):
        status, _, doc = self.sim.request(
            "GET", DR + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan")
        self.assertIn(status, (400, 422))
        self.assertEqual(doc["kind"], "Status")

    # ---- writes ----

    def test_delete_preconditions(self):
        s = self.sim
        obj = self.create("pre-a")
        bad = {"kind": "DeleteOptions", "apiVersion": "v1",
               "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}
        status, _, doc = s.request("DELETE", DR + "/pre-a", bad)
        self.assertEqual(status, 409)
        self.assertStatus(doc, 409, "Conflict")
        self.assertIn("Precondition failed", doc["message"])
        good = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background",
                "preconditions": {"uid": obj["metadata"]["uid"]}}
        status, r, doc = s.request("DELETE", DR + "/pre-a", good)
        self.assertEqual(status, 200, doc)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertEqual((doc["kind"], doc["status"]), ("Status", "Success"))
        self.assertEqual(doc["details"]["name"], "pre-a")
        self.assertEqual(doc["details"]["kind"], "downloadrequests")
        self.assertEqual(doc["details"]["uid"], obj["metadata"]["uid"])

    def test_noop_patch(self):
        s = self.sim
        obj = self.create("noop-a")
        rv = obj["metadata"]["resourceVersion"]
        c, resp = s.watch(DR + f"?watch=true&resourceVersion={rv}&timeoutSeconds=1")
        status, _, doc = s.request(
            "PATCH", DR + "/noop-a", {"spec": obj["spec"]},
            headers={"Content-Type": "application/merge-patch+json; charset=utf-8"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["metadata"]["resourceVersion"], rv)
        self.assertEqual(read_events(resp), [])
        c.close()

    def test_failed_phase_on(self):
        self.create("phase-a")
        status, _, doc = self.sim.request(
            "PATCH", DR + "/phase-a", {"status": {"phase": "Failed"}},
            headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["status"]["phase"], "Failed")

    def test_status_subresource_off(self):
        self.create("sto-a")
        for method, body in (("GET", None), ("PATCH", {"status": {"phase": "Processed"}})):
            status, _, doc = self.sim.request(
                method, DR + "/sto-a/status", body,
                headers={"Content-Type": "application/merge-patch+json"})
            self.assertEqual(status, 404, (method, doc))
            self.assertStatus(doc, 404, "NotFound")

    def test_json_patch(self):
        self.create("jp-a")
        ops = [{"op": "add", "path": "/metadata/labels", "value": {"k": "v"}}]
        status, _, doc = self.sim.request(
            "PATCH", DR + "/jp-a", json.dumps(ops),
            headers={"Content-Type": "application/json-patch+json"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["metadata"]["labels"], {"k": "v"})

    def test_bad_input(self):
        s = self.sim
        status, r, doc = s.request("POST", DR, "{not json",
                                   headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertStatus(doc, 400, "BadRequest")
        self.create("bad-a")
        status, _, doc = s.request(
            "PATCH", DR + "/bad-a", "{}",
            headers={"Content-Type": "application/strategic-merge-patch+json"})
        self.assertEqual(status, 415)
        self.assertStatus(doc, 415, "UnsupportedMediaType")
        self.assertIn("application/merge-patch+json", doc["message"])
        status, _, doc = s.request("POST", DR + "/bad-a", dr_body("bad-a"))
        self.assertEqual(status, 405)
        self.assertStatus(doc, 405, "MethodNotAllowed")
        status, _, doc = s.request("GET", DR + "?limit=1&continue=Zm9vYmFy")
        self.assertIn(status, (400, 410))
        self.assertEqual(doc["kind"], "Status")
        body = dr_body("bad-b")
        body["apiVersion"] = "velero.io/v2"
        status, _, doc = s.request("POST", DR, body)
        self.assertEqual(status, 400, doc)
        status, _, doc = s.request("PUT", DR + "/bad-a", dr_body("other-name"))
        self.assertEqual(status, 400, doc)
        crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        status, _, doc = s.request("GET", crds + "/downloadrequests.velero.io")
        self.assertEqual((status, doc["kind"]), (200, "CustomResourceDefinition"))
        status, _, doc = s.request("DELETE", crds + "/downloadrequests.velero.io")
        self.assertEqual(status, 405)
        status, _, doc = s.request("GET", "/apis/velero.io/v1/namespaces/velero/nothings")
        self.assertEqual(status, 404)

    # ---- faults and stats ----

    def test_faults(self):
        s = self.sim
        self.create("flt-a")
        rule = {"method": "GET", "path_prefix": DR + "/flt-a", "code": 500, "count": 2,
                "retry_after": 1}
        status, _, doc = s.request("POST", "/kubesim/faults", rule)
        self.assertEqual(status, 201, doc)
        for _ in range(2):
            status, r, doc = s.request("GET", DR + "/flt-a")
            self.assertEqual(status, 500)
            self.assertEqual(r.getheader("Retry-After"), "1")
            self.assertEqual(doc["kind"], "Status")
            self.assertEqual(doc["details"]["retryAfterSeconds"], 1)
        status, _, doc = s.request("GET", DR + "/flt-a")
        self.assertEqual(status, 200, doc)
        rule = {"method": "*", "path_prefix": "/apis/velero.io/", "code": 429, "count": 1,
                "retry_after": 2, "plain": True}
        self.assertEqual(s.request("POST", "/kubesim/faults", rule)[0], 201)
        status, r, body = s.request("PATCH", DR + "/flt-a", "{}",
                                    headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(status, 429)
        self.assertEqual(body, b"Too many requests, please try again later.\n")
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain"))
        self.assertEqual(r.getheader("Retry-After"), "2")
        rule = {"method": "GET", "path_prefix": DR + "/flt-a", "delay_ms": 400}
        self.assertEqual(s.request("POST", "/kubesim/faults", rule)[0], 201)
        start = time.monotonic()
        status, _, _ = s.request("GET", DR + "/flt-a")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.35)
        rule = {"method": "GET", "path_prefix": "/nowhere", "code": 503, "count": 5}
        self.assertEqual(s.request("POST", "/kubesim/faults", rule)[0], 201)
        status, _, doc = s.request("DELETE", "/kubesim/faults")
        self.assertEqual((status, doc["cleared"]), (200, 1))
        status, _, _ = s.request("POST", "/kubesim/faults", {"count": 1})
        self.assertEqual(status, 400)

    def test_stats(self):
        s = self.sim
        self.create("st-a")
        before = s.stats()["requests"]
        s.request("GET", DR + "/st-a")
        s.request("GET", DR)
        s.request("GET", DR + "?watch=false")
        c, resp = s.watch(DR + "?watch=true&timeoutSeconds=1")
        read_events(resp)
        c.close()
        s.request("GET", "/apis/velero.io/v1")  # discovery is not counted
        doc = s.stats()
        after = doc["requests"]
        delta = {k: after[k] - before[k] for k in after}
        self.assertEqual(delta, {"GET": 1, "LIST": 2, "WATCH": 1, "POST": 0, "PATCH": 0,
                                 "PUT": 0, "DELETE": 0})
        self.assertEqual(doc["watches_open"], 0)
        self.assertTrue(doc["resource_version"].isdigit())


class KubesimVariantsTest(unittest.TestCase):
    """Flags that need their own kubesim process."""

    def test_status_subresource_on_failed_phase_off(self):
        s = Kubesim("--status-subresource", "on", "--failed-phase", "off")
        try:
            status, _, doc = s.request("GET", "/apis/velero.io/v1")
            names = {x["name"] for x in doc["resources"]}
            self.assertIn("downloadrequests/status", names)
            body = dr_body("sub-a")
            body["status"] = {"phase": "Processed"}
            status, _, obj = s.request("POST", DR, body)
            self.assertEqual(status, 201, obj)
            self.assertNotIn("phase", obj.get("status") or {})  # dropped on create
            obj["status"] = {"phase": "Processed"}
            status, _, put = s.request("PUT", DR + "/sub-a", obj)
            self.assertEqual(status, 200, put)
            self.assertNotIn("phase", put.get("status") or {})  # ignored on the main resource
            patch = {"spec": {"target": {"kind": "BackupLog", "name": "changed"}},
                     "status": {"phase": "Processed"}}
            status, _, doc = s.request("PATCH", DR + "/sub-a/status", patch,
                                       headers={"Content-Type": "application/merge-patch+json"})
            self.assertEqual(status, 200, doc)
            self.assertEqual(doc["status"]["phase"], "Processed")
            self.assertEqual(doc["spec"]["target"]["name"], "b1")  # spec ignored on /status
            status, _, doc = s.request("PATCH", DR + "/sub-a/status",
                                       {"status": {"phase": "Failed"}},
                                       headers={"Content-Type": "application/merge-patch+json"})
            self.assertEqual(status, 422, doc)
            self.assertEqual((doc["kind"], doc["reason"]), ("Status", "Invalid"))
        finally:
            s.stop()

    def test_token_objects_kubeconfig(self):
        with tempfile.TemporaryDirectory(prefix="vr-kubesim-kc-") as d:
            kc = os.path.join(d, "kubeconfig")
            s = Kubesim("--token", "s3cret-token", "--objects", fixture("objects.yaml"),
                        "--kubeconfig-out", kc)
            try:
                self._check_token(s)
                self._check_objects(s)
                with open(kc) as f:
                    text = f.read()
                self.assertIn(f'server: "http://127.0.0.1:{s.port}"', text)
                self.assertIn("current-context: kubesim", text)
                self.assertIn("namespace: velero", text)
                self.assertIn('token: "s3cret-token"', text)
                self.assertEqual(os.stat(kc).st_mode & 0o077, 0)
                self.assertNotIn("s3cret-token", s.stderr())
            finally:
                s.stop()

    def _check_token(self, s):
        status, _, doc = s.request("GET", DR)
        self.assertEqual(status, 401)
        self.assertEqual((doc["kind"], doc["code"], doc["reason"]),
                         ("Status", 401, "Unauthorized"))
        status, _, _ = s.request("GET", "/version", headers={"Authorization": "Bearer wrong"})
        self.assertEqual(status, 401)
        status, _, _ = s.request("GET", DR, headers={"Authorization": "Bearer s3cret-token"})
        self.assertEqual(status, 200)
        self.assertEqual(s.request("GET", "/healthz")[0], 200)
        self.assertEqual(s.request("GET", "/kubesim/stats")[0], 200)

    def _check_objects(self, s):
        auth = {"Authorization": "Bearer s3cret-token"}
        for path in (DR + "/preloaded",
                     "/apis/velero.io/v1/namespaces/velero/backups/nightly-1",
                     "/apis/velero.io/v1/namespaces/velero/backupstoragelocations/default",
                     "/api/v1/namespaces/velero/secrets/cloud-credentials"):
            status, _, doc = s.request("GET", path, headers=auth)
            self.assertEqual(status, 200, (path, doc))
            self.assertTrue(doc["metadata"]["resourceVersion"].isdigit())

    def test_bad_objects_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("apiVersion: velero.io/v1\nkind: NoSuchKind\nmetadata: {name: x}\n")
            f.flush()
            binary = os.path.join(os.environ["VR_BIN_DIR"], "kubesim")
            p = subprocess.run([binary, "--listen", "127.0.0.1:0", "--objects", f.name],
                               capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        lines = p.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("--objects", lines[0])

    def test_usage_errors(self):
        binary = os.path.join(os.environ["VR_BIN_DIR"], "kubesim")
        for args in (["--no-such-flag", "x"], ["--status-subresource", "maybe"],
                     ["--bookmark-interval", "soon"]):
            p = subprocess.run([binary, *args], capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 2, args)
        p = subprocess.run([binary, "--help"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"--bookmark-interval", p.stdout)


if __name__ == "__main__":
    if not os.environ.get("VR_BIN_DIR"):
        print("SKIP: VR_BIN_DIR is not set")
        sys.exit(77)
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
