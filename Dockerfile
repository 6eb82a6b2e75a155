# Postern: one image, four binaries. The base image is built locally by
# deploy/build-base-image.sh (debootstrap); build with host networking:
#   docker build --network host -t postern:latest .
FROM postern-base:bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config libczmq-dev libmsgpack-dev libmicrohttpd-dev \
      libsqlite3-dev libcurl4-openssl-dev libcmocka-dev libsodium-dev libssl-dev libjansson-dev
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build -j"$(nproc)" --target postern-gateway postern-authn postern-mfa postern-mailer

FROM postern-base:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libczmq4 libmsgpackc2 libmicrohttpd12 libsqlite3-0 libcurl4 libsodium23 libssl3 libjansson4 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/gateway/postern-gateway /build/authn/postern-authn \
                  /build/mfa/postern-mfa /build/mailer/postern-mailer /usr/local/bin/
RUN useradd --system --home /var/lib/postern postern \
 && mkdir -p /var/lib/postern /var/lib/postern-mailer \
 && chown postern /var/lib/postern /var/lib/postern-mailer
USER postern
ENV POSTERN_DATA_DIR=/var/lib/postern
WORKDIR /var/lib/postern
