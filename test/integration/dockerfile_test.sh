#!/usr/bin/env bash
# dockerfile_test: what can be checked of the image without a Docker engine.
#
# 1. Dockerfile structure (python parser below): two stages, build FROM debian:bookworm,
#    runtime FROM debian:bookworm-slim with no -dev/build package; USER numeric and non-root
#    and the runtime stage's last instruction that runs anything; exec-form ENTRYPOINT
#    /usr/local/bin/vreqd, which is also the command deploy/ uses; vreqd and vreq copied
#    from the build stage into /usr/local/bin/; OCI labels; the version label's default is
#    CMakeLists.txt's project version.
# 2. Libraries: for $VR_BIN_DIR/{vreqd,vreq,kubesim} and for the image-like build of step 3,
#    every library ldd lists maps (dpkg -S) to a Debian package that the runtime stage
#    installs, that those packages depend on (dpkg's Depends/Pre-Depends closure), or that is
#    in the base set of every Debian image, -slim included (Essential: yes and Priority:
#    required packages and their dependencies). Direct NEEDED libraries must be listed
#    explicitly or be in that base set (libc6). Sanitizer runtimes of
#    -DVR_ASAN/-DVR_UBSAN builds are ignored in $VR_BIN_DIR's binaries only.
# 3. The build stage, replayed without Docker: the files the Dockerfile COPYs (filtered by
#    .dockerignore) into a temp dir, then the stage's cmake command lines run there.
# 4. That image-like vreqd, run as uid/gid 65532 in a private mount namespace where every
#    disk filesystem is remounted read-only (readOnlyRootFilesystem), answers a
#    DownloadRequest from kubesim and exits 0 on SIGTERM. Needs unshare + mount rights
#    (root); without them this step reports SKIP-STEP and the others still decide.
set -euo pipefail
src=${VR_SOURCE_DIR:?VR_SOURCE_DIR is set by test/CMakeLists.txt}
bin=${VR_BIN_DIR:?VR_BIN_DIR is set by test/CMakeLists.txt}
py=/usr/bin/python3
. "$src/test/integration/lib/kubesim.sh"

vr_ks_test_tmp # sets tmp and VQ_PID, cleans up at exit

fail() {
    echo "FAIL: $*"
    exit 1
}
ok() {
    echo "ok - $*"
}

for t in dpkg dpkg-query ldd cmake; do
    command -v "$t" >/dev/null || fail "$t is required (Debian machine with scripts/deps)"
done

# ---- 1. Dockerfile structure -> $tmp/df.json ----
"$py" - "$src/Dockerfile" "$src/CMakeLists.txt" "$src/deploy" >"$tmp/df.json" <<'PY' ||
import json, re, shlex, sys, pathlib

df_path, cmake_path, deploy_dir = sys.argv[1:4]
errors = []

def instructions(text):
    """(KEYWORD, args) with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        kw, _, rest = cur.partition(" ")
        out.append((kw.upper(), rest.strip()))
        cur = ""
    if cur:
        errors.append("dangling line continuation at the end")
    return out

def apt_packages(run):
    """Package names after `apt-get install` in one RUN line, up to the next && or ;."""
    m = re.search(r"apt-get install(.*?)(&&|;|$)", run)
    if not m:
        return []
    return [t for t in shlex.split(m.group(1)) if not t.startswith("-")]

ins = instructions(pathlib.Path(df_path).read_text())
stages = []
for kw, args in ins:
    if kw == "FROM":
        parts = args.split()
        stages.append({"from": parts[0], "name": parts[2] if len(parts) == 3 and
                       parts[1].upper() == "AS" else None, "ins": []})
    elif not stages:
        if kw != "ARG":
            errors.append(f"{kw} before the first FROM")
    else:
        stages[-1]["ins"].append((kw, args))

if len(stages) != 2:
    errors.append(f"expected 2 stages (build, runtime), found {len(stages)}")
    print(json.dumps({"errors": errors}))
    sys.exit(0)
build, run = stages
if build["from"] != "debian:bookworm" or not build["name"]:
    errors.append(f"build stage must be 'FROM debian:bookworm AS <name>', got {build['from']}")
if run["from"] != "debian:bookworm-slim":
    errors.append(f"runtime stage must be FROM debian:bookworm-slim, got {run['from']}")

def pkgs(stage):
    return sorted({p for kw, a in stage["ins"] if kw == "RUN" for p in apt_packages(a)})

build_pkgs, run_pkgs = pkgs(build), pkgs(run)
for p in run_pkgs:
    if p.endswith("-dev") or p in ("build-essential", "cmake", "pkg-config", "gcc", "make"):
        errors.append(f"runtime stage installs build-only package {p}")
if not run_pkgs:
    errors.append("runtime stage installs no package")
for kw, a in run["ins"]:
    if kw == "RUN" and "apt-get install" in a and "--no-install-recommends" not in a:
        errors.append("runtime apt-get install without --no-install-recommends")

# USER: numeric uid:gid, non-root, and nothing runs after it in the runtime stage.
users = [(i, a) for i, (kw, a) in enumerate(run["ins"]) if kw == "USER"]
if not users:
    errors.append("runtime stage has no USER")
else:
    idx, user = users[-1]
    m = re.fullmatch(r"(\d+)(?::(\d+))?", user)
    if not m:
        errors.append(f"USER must be numeric uid[:gid], got {user!r}")
    elif int(m.group(1)) == 0 or (m.group(2) is not None and int(m.group(2)) == 0):
        errors.append(f"USER must not be root, got {user!r}")
    for kw, a in run["ins"][idx + 1:]:
        if kw in ("RUN", "USER"):
            errors.append(f"{kw} after the non-root USER in the runtime stage")

# ENTRYPOINT: exec form, one absolute path, the one deploy/ uses.
eps = [a for kw, a in run["ins"] if kw == "ENTRYPOINT"]
entry = None
try:
    entry = json.loads(eps[-1]) if eps else None
except ValueError:
    errors.append(f"ENTRYPOINT must be exec (JSON) form, got {eps[-1]}")
if not isinstance(entry, list) or entry != ["/usr/local/bin/vreqd"]:
    errors.append(f'ENTRYPOINT must be ["/usr/local/bin/vreqd"], got {entry}')

# COPY --from=<build stage> of vreqd and vreq into /usr/local/bin/.
copied = {}
for kw, a in run["ins"]:
    if kw != "COPY":
        continue
    toks = shlex.split(a)
    opts = [t for t in toks if t.startswith("--")]
    rest = [t for t in toks if not t.startswith("--")]
    if f"--from={build['name']}" not in opts or len(rest) < 2:
        continue
    for s in rest[:-1]:
        dest = rest[-1]
        copied[pathlib.PurePosixPath(s).name] = dest + pathlib.PurePosixPath(s).name \
            if dest.endswith("/") else dest
for b in ("vreqd", "vreq"):
    if copied.get(b) != f"/usr/local/bin/{b}":
        errors.append(f"{b} is not copied from the build stage to /usr/local/bin/{b}")

# OCI labels (key="value" pairs of every LABEL) and the version default.
labels = {}
for kw, a in run["ins"]:
    if kw == "LABEL":
        for k, v in re.findall(r'([\w.\-]+)=("(?:[^"\\]|\\.)*"|\S+)', a):
            labels[k] = v.strip('"')
for k in ("title", "description", "version", "revision"):
    if not labels.get(f"org.opencontainers.image.{k}"):
        errors.append(f"missing label org.opencontainers.image.{k}")
args = dict(re.fullmatch(r"(\w+)(?:=(.*))?", a).groups() for kw, a in run["ins"]
            if kw == "ARG")
proj = re.search(r"project\(\s*vreq\s+VERSION\s+([\d.]+)",
                 pathlib.Path(cmake_path).read_text())
if labels.get("org.opencontainers.image.version") != "${VERSION}" or not proj or \
        args.get("VERSION") != proj.group(1):
    errors.append(f"label version must be ${{VERSION}} with ARG VERSION="
                  f"{proj.group(1) if proj else '?'} (CMakeLists.txt), got "
                  f"{labels.get('org.opencontainers.image.version')} / {args.get('VERSION')}")

# The build stage: what it COPYs, and its cmake command lines.
copies = [shlex.split(a) for kw, a in build["ins"] if kw == "COPY"]
cmake_runs = [a for kw, a in build["ins"] if kw == "RUN" and "cmake -S" in a]
if len(cmake_runs) != 1:
    errors.append(f"expected one RUN with cmake in the build stage, got {len(cmake_runs)}")
for p in ("build-essential", "cmake", "pkg-config"):
    if p not in build_pkgs:
        errors.append(f"build stage does not install {p}")

# The command every manifest under deploy/ gives the vreqd container.
print(json.dumps({"errors": errors, "build_pkgs": build_pkgs, "run_pkgs": run_pkgs,
                  "entrypoint": entry, "copies": copies,
                  "cmake_run": cmake_runs[0] if cmake_runs else "",
                  "workdir": next((a for kw, a in build["ins"] if kw == "WORKDIR"), "/")}))
PY
    fail "the Dockerfile parser crashed"

jq_() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d[sys.argv[2]]; print("\n".join(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else (v if isinstance(v, str) else json.dumps(v)))' "$tmp/df.json" "$1"; }
errs=$(jq_ errors)
[ -z "$errs" ] || fail "Dockerfile: $errs"
ok "Dockerfile: 2 stages, numeric non-root USER, ENTRYPOINT /usr/local/bin/vreqd, OCI labels"

# The entrypoint the manifests use: every vreqd container in every file under deploy/.
if [ -d "$src/deploy" ]; then
    cmds=$(grep -rhE '^\s*command:\s*\[.*vreqd' "$src/deploy" | sort -u || true)
    [ -n "$cmds" ] || fail "no 'command: [...vreqd]' in deploy/"
    while IFS= read -r line; do
        [[ $line =~ command:\ *\[\ *\"?/usr/local/bin/vreqd\"?\ *\] ]] ||
            fail "deploy/ runs vreqd as '$line', the image has /usr/local/bin/vreqd"
    done <<<"$cmds"
    ok "deploy/ runs /usr/local/bin/vreqd, the image's ENTRYPOINT"
else
    fail "no deploy/ directory"
fi

# ---- 2. libraries -> packages ----
mapfile -t run_pkgs < <(jq_ run_pkgs)

# pkg_of LIBPATH: the Debian package owning a library path (usrmerge: /lib and /usr/lib).
pkg_of() {
    local p=$1 real cand out
    real=$(readlink -f "$p")
    for cand in "$p" "$real" "/usr${p#/usr}" "${p#/usr}" "/usr${real#/usr}" "${real#/usr}"; do
        out=$(dpkg -S "$cand" 2>/dev/null | head -n1) && [ -n "$out" ] &&
            { echo "${out%%:*}"; return 0; }
    done
    return 1
}

# $tmp/base: the packages every Debian image has (Essential: yes or Priority: required, and
# what they depend on); $tmp/closure: those plus the runtime packages and their dependencies.
"$py" - "$tmp" "${run_pkgs[@]}" <<'PY' || fail "cannot compute the package closure"
import re, subprocess, sys
q = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Priority}\t${Essential}\t"
                    "${Provides}\t${Depends}, ${Pre-Depends}\n"],
                   capture_output=True, text=True, check=True)
deps, provides, required = {}, {}, set()
for line in q.stdout.splitlines():
    name, prio, ess, prov, dep = line.split("\t")
    if prio == "required" or ess == "yes":
        required.add(name)
    deps[name] = [alt.split(":")[0] for alt in re.findall(r"([a-z0-9][a-z0-9+.\-:]*)", dep)]
    for p in re.findall(r"([a-z0-9][a-z0-9+.\-]*)", prov):
        provides.setdefault(p, []).append(name)
def closure(start):
    todo, seen = list(start), set()
    while todo:
        n = todo.pop()
        for m in [n] + provides.get(n, []):
            if m not in seen:
                seen.add(m)
                todo.extend(deps.get(m, []))
    return seen
open(sys.argv[1] + "/base", "w").write("\n".join(sorted(closure(required))) + "\n")
open(sys.argv[1] + "/closure", "w").write(
    "\n".join(sorted(closure(list(sys.argv[2:]) + sorted(required)))) + "\n")
PY

# check_libs BIN LABEL: the ldd / NEEDED rules above for one binary.
check_libs() {
    local b=$1 label=$2 lib path pkg n_direct=0 n_all=0
    [ -x "$b" ] || fail "$label: no binary at $b"
    local needed
    needed=$(LC_ALL=C readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    while read -r lib _ path _; do
        [ "$path" = "not" ] && fail "$label: $lib not found by ldd on this machine"
        [[ $path == /* ]] || continue
        case $lib in libasan.so* | libubsan.so* | liblsan.so* | libtsan.so*) continue ;; esac
        pkg=$(pkg_of "$path") || fail "$label: $path (needed for $lib) belongs to no Debian package"
        n_all=$((n_all + 1))
        if grep -qxF "$lib" <<<"$needed"; then
            n_direct=$((n_direct + 1))
            { printf '%s\n' "${run_pkgs[@]}" | grep -qxF "$pkg" || grep -qxF "$pkg" "$tmp/base"; } ||
                fail "$label needs $lib directly, from package $pkg, which the runtime stage does not install (installs: ${run_pkgs[*]})"
        elif ! grep -qxF "$pkg" "$tmp/closure"; then
            # Libraries that only a sanitizer runtime pulls in (libstdc++, libgcc_s, ...)
            # are not the image's business.
            if grep -qE '^(libasan|libubsan|liblsan|libtsan)' <<<"$needed"; then
                continue
            fi
            fail "$label loads $lib (package $pkg), which no runtime package depends on"
        fi
    done < <(ldd "$b" | awk '{print $1, $2, $3, $4}')
    [ "$n_direct" -gt 0 ] || fail "$label: ldd listed no library (static? ldd failed?)"
    ok "$label: $n_direct direct and $((n_all - n_direct)) indirect libraries covered by the runtime packages"
}
for b in vreqd vreq kubesim; do
    check_libs "$bin/$b" "\$VR_BIN_DIR/$b"
done

# ---- 3. the build stage without Docker ----
ctx="$tmp/ctx"
mkdir -p "$ctx"
# .dockerignore must let through what the build stage COPYs (checked by the copy below:
# a path the ignore file hides is skipped, and then the build fails).
"$py" - "$src" "$ctx" "$tmp/df.json" <<'PY' || fail "cannot replay the build stage's COPY lines"
import fnmatch, json, os, shutil, sys
src, ctx, dfj = sys.argv[1:4]
rules = []
for line in open(os.path.join(src, ".dockerignore")):
    s = line.strip()
    if s and not s.startswith("#"):
        rules.append((s.startswith("!"), s.lstrip("!").rstrip("/")))
def ignored(rel):
    out = False
    for neg, pat in rules:  # last match wins, as in Docker
        parts = rel.split("/")
        if any(fnmatch.fnmatch("/".join(parts[:i]), pat) for i in range(1, len(parts) + 1)):
            out = not neg
    return out
d = json.load(open(dfj))
for toks in d["copies"]:
    srcs = [t for t in toks if not t.startswith("--")][:-1]
    dest = [t for t in toks if not t.startswith("--")][-1]
    for s in srcs:
        s = s.rstrip("/")
        if s == ".":
            sys.exit("the build stage copies the whole context; copy only what it needs")
        target = os.path.join(ctx, dest if not dest.endswith("/") or
                              os.path.isdir(os.path.join(src, s)) else dest + os.path.basename(s))
        if os.path.isdir(os.path.join(src, s)):
            for root, dirs, files in os.walk(os.path.join(src, s)):
                for f in files:
                    rel = os.path.relpath(os.path.join(root, f), src)
                    if ignored(rel):
                        continue
                    out = os.path.join(target, os.path.relpath(os.path.join(root, f),
                                                               os.path.join(src, s)))
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    shutil.copy2(os.path.join(root, f), out)
        else:
            if ignored(s):
                sys.exit(f".dockerignore hides {s}, which the Dockerfile copies")
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            shutil.copy2(os.path.join(src, s), target)
PY
cmake_run=$(jq_ cmake_run)
workdir=$(jq_ workdir)
[ "$workdir" = /src ] || fail "expected WORKDIR /src in the build stage, got $workdir"
# The RUN line, with its absolute /src and /build moved under the temp dir.
replay=${cmake_run//\/build/$tmp/out}
replay=${replay//-j\"\$(nproc)\"/-j2}
if ! (cd "$ctx" && bash -euo pipefail -c "$replay") >"$tmp/build.log" 2>&1; then
    tail -n 30 "$tmp/build.log"
    fail "the build stage's cmake commands fail on the files it COPYs"
fi
for b in vreqd vreq kubesim; do
    check_libs "$tmp/out/bin/$b" "image-like $b"
done
"$tmp/out/bin/vreqd" --version >/dev/null || fail "the image-like vreqd does not run --version"
ok "build stage replayed from its COPY set: vreqd, vreq, kubesim built and stripped"

# ---- 4. read-only root, uid 65532 ----
step4() {
    if ! unshare --mount --propagation private true 2>/dev/null; then
        echo "SKIP-STEP: no private mount namespace here (unshare needs CAP_SYS_ADMIN)"
        return 0
    fi
    chmod 755 "$tmp" "$tmp/out" "$tmp/out/bin"
    { cat "$src/test/fixtures/kubesim/world-aws-bsl.yaml"; cat <<'YAML'
---
apiVersion: velero.io/v1
kind: DownloadRequest
metadata: {name: ro-logs, namespace: velero}
spec: {target: {kind: BackupLog, name: nightly-1}}
YAML
    } >"$tmp/objects.yaml"
    vr_ks_start "$tmp" --objects "$tmp/objects.yaml" || fail "kubesim did not start"
    chmod 644 "$KS_KUBECONFIG"
    # The wrapper exits 97 when it cannot make the filesystems read-only (not vreqd's fault).
    # shellcheck disable=SC2016 # expanded by the inner bash
    local wrap='set -e
        while read -r m; do
            case $m in /proc* | /sys* | /dev*) continue ;; esac
            mount -o remount,bind,ro "$m" 2>/dev/null || exit 97
        done < <(findmnt -rn -o TARGET)
        touch /ro-probe 2>/dev/null && exit 97
        exec setpriv --reuid 65532 --regid 65532 --clear-groups -- "$@"'
    HOME=/nonexistent unshare --mount --propagation private -- bash -c "$wrap" vreqd \
        "$tmp/out/bin/vreqd" --kubeconfig "$KS_KUBECONFIG" --namespace velero \
        --metrics-addr 127.0.0.1:0 --leader-elect --log-format json 2>"$tmp/vreqd.err" &
    VQ_PID=$!
    # Event-driven wait: a watch on the DownloadRequest until it is Processed (30 s cap).
    local res
    res=$("$py" - "$KS_URL" <<'PY'
import json, socket, sys, urllib.request
url = sys.argv[1] + "/apis/velero.io/v1/namespaces/velero/downloadrequests?watch=true"
try:
    with urllib.request.urlopen(url, timeout=30) as r:
        for line in r:
            obj = json.loads(line)["object"]
            phase = obj.get("status", {}).get("phase")
            if obj["metadata"]["name"] == "ro-logs" and phase in ("Processed", "Failed"):
                print(phase + " " + obj["status"].get("downloadURL", "")[:40])
                break
except (OSError, socket.timeout) as e:
    print(f"no Processed event: {e}")
PY
)
    if ! kill -0 "$VQ_PID" 2>/dev/null; then
        local st=0
        wait "$VQ_PID" || st=$?
        VQ_PID=
        if [ "$st" = 97 ]; then
            echo "SKIP-STEP: cannot remount the filesystems read-only here"
            vr_ks_stop
            return 0
        fi
        cat "$tmp/vreqd.err"
        fail "vreqd as uid 65532 on a read-only root exited with $st before answering"
    fi
    [[ $res == "Processed http://127.0.0.1:9/velero/"* ]] ||
        { cat "$tmp/vreqd.err"; fail "read-only root: DownloadRequest not answered ($res)"; }
    kill -TERM "$VQ_PID"
    local st=0
    wait "$VQ_PID" || st=$?
    VQ_PID=
    [ "$st" = 0 ] || { cat "$tmp/vreqd.err"; fail "vreqd exited $st after SIGTERM"; }
    if grep -qiE 'read-only file system|permission denied|EROFS|EACCES' "$tmp/vreqd.err"; then
        cat "$tmp/vreqd.err"
        fail "vreqd reported a filesystem write or permission error on a read-only root"
    fi
    vr_ks_stop || fail "kubesim did not stop cleanly"
    ok "image-like vreqd as 65532:65532 on a read-only root: answered a DownloadRequest, exit 0 on SIGTERM"
}
step4
echo "PASS"
