# syntax=docker/dockerfile:1
# vreq image: vreqd (the entrypoint), with the vreq CLI and the kubesim emulator beside it.
#
#   docker build -t vreq:0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --rm vreq:0.1.0 --help
#   docker run --rm --entrypoint /usr/local/bin/vreq vreq:0.1.0 version
#
# Runs as the numeric user 65532 (no passwd entry is needed) and writes nothing to the
# filesystem, so it runs with a read-only root filesystem (deploy/ sets
# readOnlyRootFilesystem). test/integration/dockerfile_test.sh checks what can be checked
# without a Docker engine: the runtime packages cover every library the binaries load, the
# user is numeric and non-root, the entrypoint is the path deploy/ uses.

# ---- build: Debian bookworm with the -dev packages (scripts/deps, minus test-only tools) ----
# libcurl is built here from Debian's curl source package, HTTP(S) only and static
# (scripts/curl-minimal: dpkg-dev unpacks it, libcurl4-openssl-dev names its version).
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config dpkg-dev \
      libuv1-dev libcurl4-openssl-dev libnghttp2-dev libcjson-dev libhttp-parser-dev \
      libssl-dev zlib1g-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (.dockerignore keeps the context to these, too).
COPY CMakeLists.txt ./
COPY include/ include/
COPY src/ src/
COPY tools/kubesim/ tools/kubesim/
COPY scripts/lib.sh scripts/curl-minimal scripts/
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DVR_BUILD_BENCH=OFF \
      -DVR_CURL_PREFIX="$(scripts/curl-minimal)" \
 && cmake --build /build -j"$(nproc)" --target vreqd vreq kubesim \
 && strip --strip-unneeded /build/bin/vreqd /build/bin/vreq /build/bin/kubesim

# ---- runtime: bookworm-slim with only the shared libraries the binaries need ----
FROM debian:bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="vreq" \
      org.opencontainers.image.description="vreqd: Velero DownloadRequest and ServerStatusRequest controllers in one small C process; vreq: the CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim" \
      org.opencontainers.image.documentation="docs/vreqd.md and deploy/README.md in the source tree"
# libuv1 libnghttp2-14 libcjson1 libhttp-parser2.9 libssl3 zlib1g libyaml-0-2: the direct
# dependencies of vreqd, vreq and kubesim (libcurl is linked in; nghttp2 is its HTTP/2);
# ca-certificates for TLS to the API server's public endpoints and to object stores.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libuv1 libnghttp2-14 libcjson1 libhttp-parser2.9 libssl3 zlib1g \
      libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/vreqd /build/bin/vreq /build/bin/kubesim /usr/local/bin/
# Numeric, so the kubelet can verify runAsNonRoot without a passwd entry (65532 = distroless
# "nonroot").
USER 65532:65532
# The default --metrics-addr (/healthz, /readyz, /metrics).
EXPOSE 8085
ENTRYPOINT ["/usr/local/bin/vreqd"]
