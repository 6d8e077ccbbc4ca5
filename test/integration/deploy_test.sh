#!/usr/bin/env bash
# deploy_test: every kustomization under deploy/ renders, parses and says what it must.
#
# What is validated, and how (kubesim serves velero.io, coordination.k8s.io,
# apiextensions.k8s.io and core v1 namespaces/secrets only, and no OpenAPI schema):
# 1. `kubectl kustomize DIR` for every deploy/**/kustomization.yaml (must succeed).
# 2. `kubectl apply --dry-run=client` of every rendered document against kubesim: a kind
#    kubesim serves must pass; for the kinds it does not serve (Deployment, Service,
#    ServiceAccount, RBAC, ServiceMonitor) the only error allowed is kubectl's
#    "no matches for kind" mapping error, i.e. the document parsed and only discovery failed.
# 3. A schema check without a server: every document of a built-in kind is checked field
#    by field against the python kubernetes client's models (unknown or misspelt field,
#    wrong JSON type, missing required field = failure). ServiceMonitor fields by hand.
# 4. Content: Deployment (2 replicas, the exact vreqd command and args, /healthz and /readyz
#    probes on the named metrics port that --metrics-addr serves, requests <= limits, the
#    securityContext), Service -> pod labels and named port, ServiceMonitor -> Service;
#    the sidecar overlay adds exactly the vreqd container and appends exactly
#    --disable-controllers=download-request,server-status-request to Velero's args,
#    leaving the rest of the stand-in unchanged, and `kubectl patch --local` with the same
#    two patch files (the README's path for a live Velero) gives the same result.
# 5. RBAC: each Role/ClusterRole equals the list below (derived from src/controller/*.c and
#    src/kube/informer.c), no wildcard anywhere, bindings point at the pod's account.
# 6. RBAC against behaviour: vreqd runs against kubesim (debug request log) answering and
#    expiring DownloadRequests, a ServerStatusRequest, holding and releasing the Lease, then
#    with --all-namespaces; every request it made must be allowed by the rendered RBAC.
# Exits 77 with one line when kubectl is missing.
set -euo pipefail
src=${VR_SOURCE_DIR:?VR_SOURCE_DIR is set by test/CMakeLists.txt}
bin=${VR_BIN_DIR:?VR_BIN_DIR is set by test/CMakeLists.txt}
py=/usr/bin/python3
command -v kubectl >/dev/null || { echo "SKIP: no kubectl on PATH (scripts/deps installs one)"; exit 77; }
. "$src/test/integration/lib/kubesim.sh"

vr_ks_test_tmp # sets tmp and VQ_PID, cleans up at exit
fail() {
    echo "FAIL: $*"
    vr_ks_dump
    exit 1
}
ok() {
    echo "ok - $*"
}
export HOME="$tmp/home"
mkdir -p "$HOME" "$tmp/r"
kc() {
    timeout 60 kubectl --kubeconfig "$KS_KUBECONFIG" --cache-dir "$tmp/cache" "$@"
}

# ---- 1. render ----
mapfile -t kdirs < <(cd "$src/deploy" && find . -name kustomization.yaml -printf '%h\n' | sed 's|^\./||' | sort)
[ "${#kdirs[@]}" -ge 4 ] || fail "expected the rbac, standalone, all-namespaces, sidecar kustomizations, found: ${kdirs[*]}"
for d in "${kdirs[@]}"; do
    out="$tmp/r/${d//\//_}.yaml"
    timeout 60 kubectl kustomize "$src/deploy/$d" >"$out" 2>"$tmp/kustomize.err" ||
        fail "kubectl kustomize deploy/$d: $(cat "$tmp/kustomize.err")"
    [ -s "$out" ] || fail "kubectl kustomize deploy/$d rendered nothing"
done
ok "kubectl kustomize renders ${kdirs[*]}"

# ---- 2. client dry run against kubesim ----
vr_ks_start "$tmp" || fail "kubesim did not start"
served=$(kc api-resources --no-headers -o wide | awk '{print $NF}' | sort -u || true)
[ -n "$served" ] || fail "kubectl api-resources against kubesim listed nothing"
"$py" - "$tmp/r" "$tmp/docs" >"$tmp/docs.idx" <<'PY' || fail "cannot split the rendered manifests"
import os, sys, yaml
rdir, out = sys.argv[1:3]
os.makedirs(out)
for f in sorted(os.listdir(rdir)):
    for i, d in enumerate(yaml.safe_load_all(open(os.path.join(rdir, f)))):
        name = os.path.join(out, f"{f[:-5]}.{i:02d}.yaml")
        yaml.safe_dump(d, open(name, "w"))
        print(name, d["kind"], d["apiVersion"])
PY
n_pass=0 n_unmapped=0
while read -r f kind gv; do
    if kc apply --dry-run=client -f "$f" >"$tmp/dry.out" 2>&1; then
        n_pass=$((n_pass + 1))
        continue
    fi
    if grep -qxF "$kind" <<<"$served"; then
        fail "dry run of served kind $kind ($(basename "$f")): $(cat "$tmp/dry.out")"
    fi
    if ! grep -qF "no matches for kind \"$kind\" in version \"$gv\"" "$tmp/dry.out" ||
        [ "$(grep -c '^error' "$tmp/dry.out")" != 1 ]; then
        fail "dry run of $(basename "$f") failed other than by discovery: $(cat "$tmp/dry.out")"
    fi
    n_unmapped=$((n_unmapped + 1))
done <"$tmp/docs.idx"
ok "kubectl apply --dry-run=client: $n_pass documents accepted, $n_unmapped parsed but of kinds kubesim does not serve (checked by schema below)"

# ---- 3-5. schema, content, RBAC ----
"$py" - "$tmp/r" "$src/deploy" "$tmp/patched" <<'PY' || fail "manifest checks failed (above)"
import copy, json, os, re, subprocess, sys
import yaml
import kubernetes.client as k8s

rdir, deploy, patched_dir = sys.argv[1:4]
errors = []
def err(msg):
    errors.append(msg)

def load(name):
    return list(yaml.safe_load_all(open(os.path.join(rdir, name + ".yaml"))))
R = {n: load(n) for n in ("standalone", "all-namespaces", "sidecar", "rbac")}

# -- 3. schema: fields and types against the client's models --
MODELS = {("apps/v1", "Deployment"): "V1Deployment", ("v1", "Service"): "V1Service",
          ("v1", "ServiceAccount"): "V1ServiceAccount",
          ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
          ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
          ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
          ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding"}
PRIM = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object,
        "datetime": str, "date": str}

def check_type(where, v, t):
    if t in PRIM:
        if PRIM[t] is int and isinstance(v, bool) or not isinstance(v, PRIM[t]):
            err(f"{where}: expected {t}, got {type(v).__name__} {v!r}")
    elif t.startswith("list["):
        if not isinstance(v, list):
            return err(f"{where}: expected a list, got {v!r}")
        for i, x in enumerate(v):
            check_type(f"{where}[{i}]", x, t[5:-1])
    elif t.startswith("dict("):
        if not isinstance(v, dict):
            return err(f"{where}: expected a map, got {v!r}")
        for kk, x in v.items():
            check_type(f"{where}.{kk}", x, t[5:-1].split(", ", 1)[1])
    else:
        check_model(where, v, getattr(k8s, t))

def check_model(where, obj, cls):
    if not isinstance(obj, dict):
        return err(f"{where}: expected an object, got {obj!r}")
    rev = {j: a for a, j in cls.attribute_map.items()}
    for key, v in obj.items():
        if key not in rev:
            err(f"{where}: unknown field {key!r} for {cls.__name__}")
        else:
            check_type(f"{where}.{key}", v, cls.openapi_types[rev[key]])

n_schema = 0
for rname, docs in R.items():
    for d in docs:
        key = (d.get("apiVersion"), d.get("kind"))
        where = f"{rname}:{d['kind']}/{d['metadata']['name']}"
        if key in MODELS:
            check_model(where, d, getattr(k8s, MODELS[key]))
            try:  # required fields (the models' setters refuse None for them)
                k8s.ApiClient()._ApiClient__deserialize(copy.deepcopy(d), MODELS[key])
            except (ValueError, TypeError) as e:
                err(f"{where}: {e}")
            n_schema += 1
        elif key == ("monitoring.coreos.com/v1", "ServiceMonitor"):
            sm = d["spec"]
            if set(sm) - {"selector", "endpoints", "namespaceSelector", "jobLabel"}:
                err(f"{where}: unexpected spec fields {sorted(sm)}")
            for ep in sm.get("endpoints") or [None]:
                if not isinstance(ep, dict) or set(ep) - {"port", "path", "interval",
                                                          "scheme", "scrapeTimeout"}:
                    err(f"{where}: bad endpoint {ep!r}")
        else:
            err(f"{where}: unexpected kind {key}")
print(f"ok - schema: {n_schema} built-in documents match the Kubernetes models")

def find(docs, kind, name=None):
    out = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    if len(out) != 1:
        err(f"expected one {kind} {name or ''}, found {len(out)}")
        return {}
    return out[0]

def container(dep, name):
    cs = [c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return cs[0] if len(cs) == 1 else err(f"{dep['metadata']['name']}: no single container {name}") or {}

QTY = {"m": 1e-3, "": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
def qty(s):
    m = re.fullmatch(r"([\d.]+)(m|Ki|Mi|Gi|)", str(s))
    return float(m.group(1)) * QTY[m.group(2)] if m else err(f"bad quantity {s}")

SEC = {"readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 65532,
       "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
       "seccompProfile": {"type": "RuntimeDefault"}}

def check_vreqd(where, pod, c, port, args):
    if c.get("command") != ["/usr/local/bin/vreqd"]:
        err(f"{where}: command {c.get('command')}, the image runs /usr/local/bin/vreqd")
    if c.get("image") != "vreq:0.1.0":
        err(f"{where}: image {c.get('image')} (expected vreq:0.1.0 after the images transformer)")
    if c.get("args") != args:
        err(f"{where}: args {c.get('args')} != {args}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    pname = [n for n, p in ports.items() if p == port]
    if not pname:
        return err(f"{where}: no named port {port}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        hg = (c.get(probe) or {}).get("httpGet") or {}
        if hg.get("path") != path or hg.get("port") != pname[0]:
            err(f"{where}: {probe} must GET {path} on port {pname[0]}, got {hg}")
    res = c.get("resources") or {}
    for r in ("cpu", "memory"):
        rq, lm = (res.get("requests") or {}).get(r), (res.get("limits") or {}).get(r)
        if rq is None or lm is None or qty(rq) > qty(lm):
            err(f"{where}: {r} request {rq} / limit {lm}")
    sc = c.get("securityContext") or {}
    for kk, v in SEC.items():
        if sc.get(kk) != v:
            err(f"{where}: securityContext.{kk} = {sc.get(kk)!r}, want {v!r}")
    return pname[0]

def check_service(where, docs, pod_labels, pod_ports, svc_name="vreqd-metrics"):
    svc = find(docs, "Service", svc_name)
    sel = svc.get("spec", {}).get("selector", {})
    if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
        err(f"{where}: Service selector {sel} does not select the pod {pod_labels}")
    tps = [p.get("targetPort") for p in svc.get("spec", {}).get("ports", [])]
    if not tps or any(t not in pod_ports for t in tps):
        err(f"{where}: Service targetPorts {tps} not among the pod's named ports {pod_ports}")
    sm = find(docs, "ServiceMonitor")
    ml = sm.get("spec", {}).get("selector", {}).get("matchLabels", {})
    if not ml or any(svc["metadata"].get("labels", {}).get(k) != v for k, v in ml.items()):
        err(f"{where}: ServiceMonitor selector {ml} does not match the Service's labels")
    names = {p.get("name") for p in svc.get("spec", {}).get("ports", [])}
    for ep in sm.get("spec", {}).get("endpoints", []):
        if ep.get("port") not in names or ep.get("path") != "/metrics":
            err(f"{where}: ServiceMonitor endpoint {ep} vs Service ports {names}")

def check_pod_sec(where, pod):
    ps = pod.get("securityContext") or {}
    for kk in ("runAsNonRoot", "runAsUser", "seccompProfile"):
        if ps.get(kk) != SEC[kk]:
            err(f"{where}: pod securityContext.{kk} = {ps.get(kk)!r}")

# -- 4. standalone and all-namespaces --
ARGS = ["--namespace=$(POD_NAMESPACE)", "--leader-elect", "--metrics-addr=:8085",
        "--log-format=json"]
for rname, args in (("standalone", ARGS), ("all-namespaces", ARGS + ["--all-namespaces"])):
    docs = R[rname]
    dep = find(docs, "Deployment", "vreqd")
    if not dep:
        continue
    pod = dep["spec"]["template"]["spec"]
    if dep["spec"].get("replicas") != 2:
        err(f"{rname}: replicas {dep['spec'].get('replicas')}, want 2")
    c = container(dep, "vreqd")
    env = {e["name"]: e for e in c.get("env", [])}
    if (env.get("POD_NAMESPACE", {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") != "metadata.namespace":
        err(f"{rname}: POD_NAMESPACE must come from metadata.namespace")
    pn = check_vreqd(rname, pod, c, 8085, args)
    check_pod_sec(rname, pod)
    if pod.get("serviceAccountName") != "vreqd" or not find(docs, "ServiceAccount", "vreqd"):
        err(f"{rname}: the pod must run as the ServiceAccount vreqd")
    check_service(rname, docs, dep["spec"]["template"]["metadata"]["labels"], [pn])
    if dep["spec"]["selector"]["matchLabels"].items() - dep["spec"]["template"]["metadata"]["labels"].items():
        err(f"{rname}: selector does not match the template's labels")

# -- 4. sidecar --
standin = yaml.safe_load(open(os.path.join(deploy, "sidecar/velero-standin/deployment.yaml")))
side = R["sidecar"]
dep = find(side, "Deployment", "velero")
DISABLE = "--disable-controllers=download-request,server-status-request"
if dep:
    pod = dep["spec"]["template"]["spec"]
    names = sorted(c["name"] for c in pod["containers"])
    if names != ["velero", "vreqd"]:
        err(f"sidecar: containers {names}, want velero + vreqd")
    v, v0 = container(dep, "velero"), copy.deepcopy(standin["spec"]["template"]["spec"]["containers"][0])
    if v.get("args") != v0["args"] + [DISABLE]:
        err(f"sidecar: velero args {v.get('args')} != stand-in's + [{DISABLE}]")
    v0["args"] = v.get("args")
    if v != v0:
        err("sidecar: the velero container changed beyond its args")
    rest, rest0 = copy.deepcopy(dep), copy.deepcopy(standin)
    for d in (rest, rest0):
        d["spec"]["template"]["spec"]["containers"] = []
        d["spec"]["template"]["metadata"].get("annotations", {}).pop(
            "kubectl.kubernetes.io/default-container", None)
        d["metadata"].get("labels", {}).clear()
        d["metadata"].pop("namespace", None)
    if rest != rest0:
        err("sidecar: the patches changed Velero's Deployment beyond the containers")
    if dep["spec"]["template"]["metadata"].get("annotations", {}).get(
            "kubectl.kubernetes.io/default-container") != "velero":
        err("sidecar: kubectl.kubernetes.io/default-container must stay velero")
    c = container(dep, "vreqd")
    pn = check_vreqd("sidecar", pod, c, 8086,
                     ["--namespace=$(VELERO_NAMESPACE)", "--leader-elect",
                      "--metrics-addr=:8086", "--log-format=json"])
    vports = {p["containerPort"] for p in v.get("ports", [])}
    if 8086 in vports:
        err("sidecar: vreqd's port 8086 collides with Velero's")
    vols = {x["name"] for x in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        if m["name"] not in vols or not m.get("readOnly"):
            err(f"sidecar: vreqd mounts {m} (pod volumes {sorted(vols)}; must be readOnly)")
    sa = pod.get("serviceAccountName")
    for rb in (d for d in side if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        if [(s["kind"], s["name"]) for s in rb["subjects"]] != [("ServiceAccount", sa)]:
            err(f"sidecar: {rb['kind']} {rb['metadata']['name']} binds {rb['subjects']}, not {sa}")
    check_service("sidecar", side, dep["spec"]["template"]["metadata"]["labels"], [pn])
    # The README's path for a live Velero: kubectl patch --local with the same two files.
    f = os.path.join(deploy, "sidecar/velero-standin/deployment.yaml")
    p1 = subprocess.run(["kubectl", "patch", "--local", "-o", "json", "-f", f, "--type=json",
                         "--patch-file", os.path.join(deploy, "sidecar/disable-controllers.yaml")],
                        capture_output=True, text=True, timeout=60)
    open(patched_dir, "w").write(p1.stdout)
    p2 = subprocess.run(["kubectl", "patch", "--local", "-o", "json", "-f", patched_dir,
                         "--type=strategic", "--patch-file",
                         os.path.join(deploy, "sidecar/sidecar-container.yaml")],
                        capture_output=True, text=True, timeout=60)
    if p1.returncode or p2.returncode:
        err(f"kubectl patch --local: {p1.stderr} {p2.stderr}")
    else:
        live = json.loads(p2.stdout)
        lc = {c["name"]: c for c in live["spec"]["template"]["spec"]["containers"]}
        want = copy.deepcopy(c)
        want["image"] = "vreq"  # no images transformer on this path
        if lc.get("velero", {}).get("args") != v.get("args") or lc.get("vreqd") != want:
            err("kubectl patch --local gives another result than kubectl kustomize")
print("ok - content: Deployments, probes, args, securityContext, Services, ServiceMonitors, sidecar patch")

# -- 5. RBAC: exactly what vreqd uses (src/controller/dlr_driver.c new_informers,
# confirm_missing, write_status, delete; ssr_driver.c informer, start_patch, delete;
# lease_driver.c get/create/update; the two CRD GETs in *_ctrl_start) --
def rules(*specs):
    return {(g, r, v, n) for g, rs, vs, ns in specs for r in rs for v in vs for n in ns}
ANY = ["*any*"]
NS_RULES = rules(
    ("velero.io", ["downloadrequests", "serverstatusrequests"], ["list", "watch", "patch", "delete"], ANY),
    ("velero.io", ["downloadrequests/status", "serverstatusrequests/status"], ["patch"], ANY),
    ("velero.io", ["backups", "restores", "backupstoragelocations"], ["get", "list", "watch"], ANY),
    ("", ["secrets"], ["get", "list", "watch"], ANY),
    ("coordination.k8s.io", ["leases"], ["create"], ANY),
    ("coordination.k8s.io", ["leases"], ["get", "update"], ["vreqd"]))
CRD_RULES = rules(("apiextensions.k8s.io", ["customresourcedefinitions"], ["get"],
                   ["downloadrequests.velero.io", "serverstatusrequests.velero.io"]))
ALLNS_RULES = rules(
    ("velero.io", ["downloadrequests"], ["list", "watch", "patch", "delete"], ANY),
    ("velero.io", ["downloadrequests/status"], ["patch"], ANY),
    ("velero.io", ["backups", "restores", "backupstoragelocations"], ["get", "list", "watch"], ANY),
    ("", ["secrets"], ["get", "list", "watch"], ANY))
EXPECT = {("Role", "vreqd"): NS_RULES, ("ClusterRole", "vreqd-crd-reader"): CRD_RULES,
          ("ClusterRole", "vreqd-all-namespaces"): ALLNS_RULES}

def flatten(role):
    out = set()
    for r in role.get("rules", []):
        for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            if "*" in (r.get(field) or []) or any("*" in x for x in r.get(field) or []):
                err(f"{role['kind']} {role['metadata']['name']}: wildcard in {field}")
        if r.get("nonResourceURLs"):
            err(f"{role['kind']} {role['metadata']['name']}: nonResourceURLs")
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    for n in r.get("resourceNames") or ANY:
                        out.add((g, res, v, n))
    return out

for rname, docs in R.items():
    for d in docs:
        if d["kind"] in ("Role", "ClusterRole"):
            want = EXPECT.get((d["kind"], d["metadata"]["name"]))
            got = flatten(d)
            if want is None:
                err(f"{rname}: unexpected {d['kind']} {d['metadata']['name']}")
            elif got != want:
                err(f"{rname}: {d['kind']} {d['metadata']['name']}: extra {sorted(got - want)}, "
                    f"missing {sorted(want - got)}")
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            ref = (d["roleRef"]["kind"], d["roleRef"]["name"])
            if ref not in EXPECT:
                err(f"{rname}: {d['kind']} {d['metadata']['name']} binds {ref}")
            if d["kind"] == "RoleBinding" and d["metadata"].get("namespace") != "velero":
                err(f"{rname}: RoleBinding outside velero")
if not any(d["kind"] == "ClusterRole" and d["metadata"]["name"] == "vreqd-all-namespaces"
           for d in R["all-namespaces"]) or any(
        d["kind"] == "ClusterRole" and d["metadata"]["name"] == "vreqd-all-namespaces"
        for n in ("standalone", "sidecar") for d in R[n]):
    err("the cluster-wide ClusterRole must be in deploy/all-namespaces only")
json.dump({"ns": sorted(NS_RULES), "crd": sorted(CRD_RULES), "allns": sorted(ALLNS_RULES)},
          open(os.path.join(rdir, "..", "rules.json"), "w"))
if errors:
    print("\n".join("FAIL: " + e for e in errors))
    sys.exit(1)
print("ok - RBAC: Role vreqd, ClusterRoles vreqd-crd-reader and vreqd-all-namespaces hold exactly the verbs vreqd uses, no wildcard")
PY
vr_ks_stop || fail "kubesim did not stop cleanly"

# ---- 6. RBAC against vreqd's real requests ----
{ cat "$src/test/fixtures/kubesim/world-aws-bsl.yaml"; cat <<'YAML'
---
apiVersion: velero.io/v1
kind: Restore
metadata: {name: nightly-1-r, namespace: velero}
spec: {backupName: nightly-1}
status: {phase: Completed}
---
apiVersion: velero.io/v1
kind: DownloadRequest
metadata: {name: ok-logs, namespace: velero}
spec: {target: {kind: RestoreLog, name: nightly-1-r}}
---
apiVersion: velero.io/v1
kind: DownloadRequest
metadata: {name: missing-backup, namespace: velero}
spec: {target: {kind: BackupLog, name: no-such-backup}}
---
apiVersion: velero.io/v1
kind: ServerStatusRequest
metadata: {name: ssr-1, namespace: velero}
YAML
} >"$tmp/objects.yaml"

# The waiter: watches DownloadRequests and ServerStatusRequests in velero (the same
# requests, RBAC-wise, as vreqd's own watches, so the request log stays vreqd's) and exits 0
# once all three request objects were deleted; prints "watching" once both streams are open.
cat >"$tmp/waiter.py" <<'PY'
import json, sys, threading, urllib.request
base = sys.argv[1] + "/apis/velero.io/v1/namespaces/velero/"
left = {"downloadrequests": {"ok-logs", "missing-backup"}, "serverstatusrequests": {"ssr-1"}}
streams = {r: urllib.request.urlopen(base + r + "?watch=true", timeout=40) for r in left}
print("watching", flush=True)
def follow(r):
    for line in streams[r]:
        ev = json.loads(line)
        if ev["type"] == "DELETED":
            left[r].discard(ev["object"]["metadata"]["name"])
            if not left[r]:
                return
threads = [threading.Thread(target=follow, args=(r,), daemon=True) for r in left]
for t in threads:
    t.start()
for t in threads:
    t.join(40)
sys.exit(1 if any(left.values()) else 0)
PY

# run_vreqd WHAT VREQD_ARGS...: kubesim (request log) + vreqd until every request object is
# gone (answered, then deleted at its 1 s expiration), then SIGTERM; the log is kept.
run_vreqd() {
    local what=$1 line fd wpid
    shift
    vr_ks_start "$tmp" --objects "$tmp/objects.yaml" --log-level debug --status-subresource on ||
        fail "kubesim did not start"
    rm -f "$tmp/waiter.fifo"
    mkfifo "$tmp/waiter.fifo"
    "$py" "$tmp/waiter.py" "$KS_URL" >"$tmp/waiter.fifo" 2>"$tmp/waiter.err" &
    wpid=$!
    exec {fd}<"$tmp/waiter.fifo"
    if ! IFS= read -r -t 30 -u "$fd" line || [ "$line" != watching ]; then
        cat "$tmp/waiter.err"
        fail "$what: the watcher did not start"
    fi
    exec {fd}<&-
    "$bin/vreqd" --kubeconfig "$KS_KUBECONFIG" --namespace velero --metrics-addr 0 \
        --download-url-ttl 1s --server-status-ttl 1s --log-level warn "$@" 2>"$tmp/vreqd.err" &
    VQ_PID=$!
    wait "$wpid" ||
        { cat "$tmp/waiter.err" "$tmp/vreqd.err"; fail "$what: vreqd did not answer and expire the requests"; }
    kill -TERM "$VQ_PID"
    local st=0
    wait "$VQ_PID" || st=$?
    VQ_PID=
    [ "$st" = 0 ] || { cat "$tmp/vreqd.err"; fail "$what: vreqd exited $st on SIGTERM"; }
    vr_ks_stop || fail "kubesim did not stop cleanly"
    cp "$tmp/kubesim.err" "$tmp/requests-$what.log"
}
run_vreqd leader --leader-elect
run_vreqd allns --all-namespaces

"$py" - "$tmp" <<'PY' || fail "vreqd made a request the rendered RBAC does not allow (above)"
import json, re, sys
tmp = sys.argv[1]
rules = {k: {tuple(x) for x in v} for k, v in json.load(open(f"{tmp}/rules.json")).items()}
VERB = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}

def parse(path, method):
    """(verb, group, resource, namespace or None, name or None) of one API request."""
    p = path.split("?")[0].strip("/").split("/")
    if len(p) < 3 or p[0] == "apis" and len(p) < 4:
        return None  # discovery, /version, /kubesim/...
    if p[0] == "api":
        g, rest = "", p[2:]
    elif p[0] == "apis":
        g, rest = p[1], p[3:]
    else:
        return None
    ns = None
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        ns, rest = rest[1], rest[2:]
    res, name = rest[0], rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        res += "/" + rest[2]
    verb = VERB.get(method) or ("get" if name else "list")
    return verb, g, res, ns, name

def allowed(req, ruleset, ns_ok):
    verb, g, res, ns, name = req
    if not ns_ok(ns):
        return False
    return any(r == (g, res, verb, n) for r in ruleset for n in ("*any*", name))

GROUP = {"secrets": ""}
bad, seen = [], {}
for what, cluster in (("leader", set()), ("allns", {"downloadrequests", "backups", "restores",
                                                  "backupstoragelocations", "secrets"})):
    scope = {}
    for line in open(f"{tmp}/requests-{what}.log"):
        m = re.search(r"kubesim request method=(\w+) path=(\S+)", line)
        w = re.search(r"kubesim request method=GET resource=(\S+) watch=true", line)
        if m:
            req = parse(m.group(2), m.group(1))
            if not req:
                continue
            if req[0] == "list":
                scope[req[2]] = (req[1], req[3])
        elif w:
            g, ns = scope.get(w.group(1), (GROUP.get(w.group(1), "velero.io"), "velero"))
            req = ("watch", g, w.group(1), ns, None)
        else:
            continue
        ns_rules = rules["ns"] if req[3] == "velero" else set()
        cl = rules["crd"] | (rules["allns"] if what == "allns" else set())
        ok_ns = allowed(req, ns_rules, lambda n: n == "velero")
        ok_cl = allowed(req, cl, lambda n: True)
        if not (ok_ns or ok_cl):
            bad.append(f"{what}: {req}")
        seen.setdefault(what, set()).add(req[:3] + (req[3] is None,))
for b in sorted(set(bad)):
    print("FAIL: not allowed by deploy/ RBAC: (verb, group, resource, namespace, name) =", b)
# The run must have exercised the interesting paths, or this check proves little.
need = {("leader", ("patch", "velero.io", "downloadrequests/status", False)),
        ("leader", ("patch", "velero.io", "serverstatusrequests/status", False)),
        ("leader", ("delete", "velero.io", "downloadrequests", False)),
        ("leader", ("delete", "velero.io", "serverstatusrequests", False)),
        ("leader", ("get", "velero.io", "backups", False)),
        ("leader", ("get", "apiextensions.k8s.io", "customresourcedefinitions", True)),
        ("leader", ("create", "coordination.k8s.io", "leases", False)),
        ("leader", ("update", "coordination.k8s.io", "leases", False)),
        ("leader", ("watch", "", "secrets", False)),
        ("allns", ("list", "velero.io", "downloadrequests", True)),
        ("allns", ("list", "", "secrets", True))}
missing = [n for n in need if n[1] not in seen.get(n[0], set())]
for n in sorted(missing):
    print("FAIL: the run did not exercise", n)
if bad or missing:
    sys.exit(1)
print(f"ok - RBAC vs behaviour: {sum(len(s) for s in seen.values())} distinct requests of vreqd "
      "(leader-elect run, --all-namespaces run) all allowed by the rendered RBAC")
PY
echo "PASS"
