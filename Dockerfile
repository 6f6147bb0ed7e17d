# syntax=docker/dockerfile:1
# Hoist's container image: `hoist` and the pinned OpenTofu, both built from
# source and the Go module proxy, on a small Debian. docs/deploy.md explains
# each choice; scripts/image-steps.sh runs the same steps outside a container
# and internal/deploytest checks that the two stay in sync.

FROM docker.io/library/golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# One recipe: the build stage runs the script that the tests run. It builds
# hoist (CGO_ENABLED=0, -trimpath) and OpenTofu (scripts/install-tofu.sh) and
# lays out the final file system under /rootfs.
RUN bash scripts/image-steps.sh build /rootfs

FROM docker.io/library/debian:bookworm-slim
# ca-certificates: HTTPS to GitLab, registries and providers. git: OpenTofu's
# git:: module sources. /bin/sh (in the base) is what the sandbox's start-up
# probe runs, so a distroless base without a shell would refuse every run.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /rootfs/ /
RUN groupadd --system --gid 10001 hoist \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/hoist --no-create-home --shell /usr/sbin/nologin hoist \
 && chown 10001:10001 /var/lib/hoist
USER 10001:10001
ENV HOIST_DATA_DIR=/var/lib/hoist
ENV HOIST_LISTEN=:8080
ENV HOIST_TOFU_PATH=/usr/local/bin/tofu
VOLUME /var/lib/hoist
EXPOSE 8080
# No curl in the image: bash's /dev/tcp asks GET /healthz on the port of
# HOIST_LISTEN (plain HTTP; with --tls-cert use another check).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/${HOIST_LISTEN##*:} && printf "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && head -n1 <&3 | grep -q " 200 "'
ENTRYPOINT ["hoist"]
CMD ["server"]
