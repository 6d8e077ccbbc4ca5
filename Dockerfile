# syntax=docker/dockerfile:1
# vreq image: vreqd (entrypoint), with vreq and kubesim beside it.
#   docker build -t vreq .
#   docker run --rm vreq --help

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libuv1-dev libcurl4-openssl-dev libcjson-dev \
      libhttp-parser-dev libssl-dev zlib1g-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DVR_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target vreqd vreq kubesim

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libuv1 libcurl4 libcjson1 libhttp-parser2.9 libssl3 zlib1g libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/vreqd /build/bin/vreq /build/bin/kubesim /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/vreqd"]
