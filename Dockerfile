# Postern: one image, four binaries (postern-gateway, -authn, -mfa, -mailer).
# The base image is built locally from the Debian mirror, no registry needed:
#   deploy/build-base-image.sh
#   docker-compose up -d --build          (or: docker build --network host -t postern:latest .)
# With a registry at hand, --build-arg BASE_IMAGE=debian:bookworm works as well.
# See deploy/README.md.
ARG BASE_IMAGE=postern-base:bookworm

FROM ${BASE_IMAGE} AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config libczmq-dev libmsgpack-dev libmicrohttpd-dev \
      libsqlite3-dev libcurl4-openssl-dev libcmocka-dev libsodium-dev libssl-dev libjansson-dev libpq-dev \
      >/dev/null
# the sources only (.dockerignore keeps out build trees, data, node_modules and the
# deployment files, so editing those does not rebuild the binaries)
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
 && cmake --build /build -j"$(nproc)" \
      --target postern-gateway postern-authn postern-mfa postern-mailer postern-keys

FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libczmq4 libmsgpackc2 libmicrohttpd12 libsqlite3-0 libcurl4 libsodium23 libssl3 \
      libjansson4 libpq5 ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged uid/gid (10001) so that ownership of volumes and of files
# mounted into the containers (a TLS key, an SMTP CA) is predictable on the host.
# The data directory is 0700: it holds keys, databases and bootstrap.json (0600).
RUN groupadd --system --gid 10001 postern \
 && useradd --system --uid 10001 --gid postern --home-dir /var/lib/postern \
      --no-create-home --shell /usr/sbin/nologin postern \
 && install -d -m 0700 -o postern -g postern /var/lib/postern
COPY --from=build /build/gateway/postern-gateway /build/authn/postern-authn \
                  /build/mfa/postern-mfa /build/mailer/postern-mailer \
                  /build/tools/postern-keys /usr/local/bin/
USER postern:postern
ENV POSTERN_DATA_DIR=/var/lib/postern
WORKDIR /var/lib/postern
VOLUME ["/var/lib/postern"]
# compose.yaml picks the binary per service; this is only a default
CMD ["postern-gateway"]
