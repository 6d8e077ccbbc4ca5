#!/usr/bin/python3
"""vreqd_leader_test: leader election between vreqd processes against kubesim (contract.md §5,
kube-api.md §7), with client-go's real timings (15 s lease, 10 s renew deadline, 2 s retry
with jitter 1.2, so a follower tries every 2 to 4.4 s).

One scenario, in order (one kubesim, three vreqd with --leader-elect over the run):

1. A and B start together: exactly one becomes leader (/readyz role, vreqd_leader gauge),
   the other reports follower and is ready too (its caches are warm).
2. ServerStatusRequests and DownloadRequests (targets that do not exist, so they end Failed
   without any object storage) are all answered, and only the leader wrote: the
   follower's vreqd_api_requests_total shows no PATCH or DELETE, and the leader's PATCH
   count equals kubesim's.
3. SIGKILL the leader: the follower takes over, not before the lease could have expired
   and within one lease duration of the last renewal it observed, i.e. at most
   15 s + 2 x 4.4 s after the kill (the renewal may be up to one follower retry old when
   seen, and expiry is noticed at the next retry); requests created meanwhile are then
   processed.
4. C joins as follower; SIGTERM the leader: it releases the Lease and exits 0, and C takes
   over within about one retry period (at most 4.4 s + slack), far sooner than a lease
   duration.
"""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import vreqd  # noqa: E402
import vrproc  # noqa: E402
from vrproc import velero_path  # noqa: E402

NS = "velero"
LEASE_S, RETRY_MAX_S = 15, 4.4


def role(p):
    try:
        return p.readyz()[1]
    except (OSError, AssertionError):
        return None


def writes(p):
    """The PATCH and DELETE requests p has sent (from its /metrics)."""
    s = p.metrics()
    return (vreqd.metric(s, "vreqd_api_requests_total", verb="PATCH"),
            vreqd.metric(s, "vreqd_api_requests_total", verb="DELETE"))


class LeaderTest(unittest.TestCase):
    def setUp(self):
        self.dir = vrproc.workdir("vr-leader-")
        self.procs = []
        self.sim = vrproc.Kubesim(self.dir.name)
        self.kube = self.sim.kube

    def tearDown(self):
        problems = []
        for p in self.procs + [self.sim]:
            try:
                if p.alive() or p is self.sim:
                    p.stop(check=True)
            except AssertionError as e:
                problems.append(str(e))
        self.dir.cleanup()
        if problems:
            raise AssertionError("\n".join(problems))

    def start(self, name):
        p = vreqd.Vreqd(self.dir.name, self.sim, "--leader-elect", "--log-level", "debug",
                        "--server-status-ttl", "10m", name=name)
        self.procs.append(p)
        return p

    def create_requests(self, tag, n):
        names = []
        for i in range(n):
            name = f"{tag}-{i}"
            self.kube.create(velero_path("serverstatusrequests", NS), {
                "apiVersion": "velero.io/v1", "kind": "ServerStatusRequest",
                "metadata": {"namespace": NS, "name": name}, "spec": {}})
            self.kube.create(velero_path("downloadrequests", NS), {
                "apiVersion": "velero.io/v1", "kind": "DownloadRequest",
                "metadata": {"namespace": NS, "name": name},
                "spec": {"target": {"kind": "BackupLog", "name": f"absent-{name}"}}})
            names.append(name)
        return names

    def wait_answered(self, names, timeout=20):
        for plural, phase in (("serverstatusrequests", "Processed"),
                              ("downloadrequests", "Failed")):
            self.kube.wait(velero_path(plural, NS),
                           lambda objs: all(objs.get((NS, n), {}).get("status", {})
                                            .get("phase") == phase for n in names) or None,
                           timeout, f"{plural} {names[0]}.. to be {phase}")

    def leader_among(self, procs):
        roles = {p.name: role(p) for p in procs}
        leaders = [p for p in procs if roles[p.name] == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def test_one_leader_failover_and_release(self):
        a, b = self.start("vreqd-a"), self.start("vreqd-b")
        leader = vreqd.poll(lambda: self.leader_among([a, b]), 15, "exactly one leader")
        follower = b if leader is a else a
        vreqd.poll(lambda: follower.readyz() == (True, "follower"), 15, "a ready follower")
        self.assertEqual(leader.metric("vreqd_leader"), 1)
        self.assertEqual(follower.metric("vreqd_leader"), 0)

        # 2. only the leader writes
        names = self.create_requests("first", 10)
        self.wait_answered(names)
        time.sleep(1)  # let a stray follower write show up, if there were one
        self.assertEqual(writes(follower), (0, 0), "the follower wrote")
        lp, _ = writes(leader)
        self.assertGreaterEqual(lp, 20)
        self.assertEqual(lp, self.kube.stats()["requests"]["PATCH"],
                         "every PATCH kubesim saw came from the leader")
        self.assertEqual(self.leader_among([a, b]), leader, "leadership moved")

        # 3. SIGKILL the leader: takeover once the lease expires on the follower's clock
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait(10)
        t_kill = time.monotonic()
        names = self.create_requests("after-kill", 3)
        vreqd.poll(lambda: role(follower) == "leader", LEASE_S + 2 * RETRY_MAX_S + 2,
                   "the follower to take over after SIGKILL")
        took = time.monotonic() - t_kill
        self.assertGreaterEqual(took, LEASE_S - 2 - RETRY_MAX_S,
                                "took over before the lease could have expired")
        self.assertLessEqual(took, LEASE_S + 2 * RETRY_MAX_S)
        self.wait_answered(names)
        leader.stop(check=False)  # reap; SIGKILL's status is expected
        self.procs.remove(leader)
        leader = follower

        # 4. SIGTERM the leader: it releases, the newcomer takes over within a retry period
        c = self.start("vreqd-c")
        vreqd.poll(lambda: c.readyz() == (True, "follower"), 15, "vreqd-c to follow")
        time.sleep(RETRY_MAX_S)  # c has observed the current holder at least once
        self.assertEqual(role(leader), "leader")
        t_term = time.monotonic()
        leader.stop(check=True)  # SIGTERM; must exit 0 after releasing
        self.procs.remove(leader)
        with open(leader.err_path, errors="replace") as f:
            self.assertIn("lease released", f.read())
        vreqd.poll(lambda: role(c) == "leader", RETRY_MAX_S + 2,
                   "vreqd-c to take over after the release")
        took = time.monotonic() - t_term
        self.assertLess(took, RETRY_MAX_S + 2, "no faster than an expiry: not released?")
        names = self.create_requests("after-term", 3)
        self.wait_answered(names)
        self.assertGreater(writes(c)[0], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
