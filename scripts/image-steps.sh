#!/usr/bin/env bash
# The container image's steps, outside a container (no container tool can
# build and start an image on our CI machines: docs/deploy.md says what was
# tried). The Dockerfile's build stage runs `image-steps.sh build /rootfs`
# itself, so the build below is the image's build; `run` starts the laid-out
# hoist with the Dockerfile's own ENV, CMD and HEALTHCHECK, read from it.
#
# Usage: bash scripts/image-steps.sh build ROOT   build hoist and OpenTofu into ROOT
#        bash scripts/image-steps.sh run ROOT     start ROOT's hoist like the image, check, stop
#        bash scripts/image-steps.sh              both, in a temporary ROOT removed after
# Environment: HOIST_IMAGE_HOIST_BINARY  a hoist already built from this checkout to copy
#              instead of building one (the tests pass their own);
#              HOIST_IMAGE_PORT  port `run` listens on (default 18080; the image's is 8080).
# Nothing is written outside ROOT except what scripts/install-tofu.sh keeps
# (.tools/bin/tofu in the checkout and its cache in ~/.cache/hoist).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)

# build lays out the image's file system under $1: /usr/local/bin/{hoist,tofu}
# and the data volume /var/lib/hoist.
build() {
  local root=$1
  mkdir -p "$root/usr/local/bin" "$root/var/lib/hoist"
  if [ -n "${HOIST_IMAGE_HOIST_BINARY:-}" ]; then
    install -m 0755 "$HOIST_IMAGE_HOIST_BINARY" "$root/usr/local/bin/hoist"
  else
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$root/usr/local/bin/hoist" ./cmd/hoist
  fi
  bash scripts/install-tofu.sh
  install -m 0755 .tools/bin/tofu "$root/usr/local/bin/tofu"
}

# dockerfile_env prints the final stage's ENV lines as KEY=VALUE.
dockerfile_env() {
  awk '/^FROM /{env=""} /^ENV [A-Z_]+=/{sub(/^ENV /,""); env=env $0 "\n"} END{printf "%s", env}' "$checkout/Dockerfile"
}

# dockerfile_cmd prints the words of the Dockerfile's exec-form CMD, one a line.
dockerfile_cmd() {
  sed -n 's/^CMD \[\(.*\)\]$/\1/p' "$checkout/Dockerfile" | tr ',' '\n' | sed 's/^ *"//; s/" *$//'
}

# dockerfile_healthcheck prints the HEALTHCHECK's shell-form command.
dockerfile_healthcheck() {
  sed -n 's/^HEALTHCHECK .* CMD \(.*\)$/\1/p' "$checkout/Dockerfile"
}

# get prints the status line of GET $2 on 127.0.0.1:$1, as the HEALTHCHECK asks.
get() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
  head -n1 <&3 | tr -d '\r'
  exec 3<&-
}

run() {
  local root port log pid line
  root=$(cd "$1" && pwd)
  port=${HOIST_IMAGE_PORT:-18080}
  log="$root/server.log"
  # The image's environment, its absolute paths moved under ROOT; the
  # container's /tmp is ROOT/tmp (the default work dir lives there).
  local -a env=(PATH="$root/usr/local/bin:/usr/bin:/bin" HOME="$root/var/lib/hoist" TMPDIR="$root/tmp")
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    case ${line#*=} in /*) line="${line%%=*}=$root${line#*=}" ;; esac
    case $line in HOIST_LISTEN=*) line="HOIST_LISTEN=127.0.0.1:$port" ;; esac
    env+=("$line")
  done < <(dockerfile_env)
  mkdir -p "$root/tmp" && chmod 1777 "$root/tmp"
  local -a user=()
  if [ "$(id -u)" = 0 ]; then
    # The image runs as uid 10001; here nobody, the one unprivileged user
    # every machine has. ROOT must be reachable by it.
    chmod 0755 "$root" "$root/usr" "$root/usr/local" "$root/usr/local/bin" "$root/var" "$root/var/lib"
    chown -R 65534:65534 "$root/var/lib/hoist"
    user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  fi
  local -a cmd
  mapfile -t cmd < <(dockerfile_cmd)
  echo "starting: ${env[*]} ${user[*]} hoist ${cmd[*]}"
  env -i "${env[@]}" "${user[@]}" "$root/usr/local/bin/hoist" "${cmd[@]}" >"$log" 2>&1 &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill $pid 2>/dev/null || true" EXIT
  local hc ok=""
  hc=$(dockerfile_healthcheck)
  for _ in $(seq 1 300); do
    if env -i "${env[@]}" sh -c "$hc" 2>/dev/null; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$ok" ]; then
    echo "the HEALTHCHECK never passed; server log:" >&2
    cat "$log" >&2
    return 1
  fi
  echo "HEALTHCHECK passed (GET /healthz)"
  local status
  status=$(get "$port" /readyz)
  echo "GET /readyz: $status"
  case $status in *" 200 "*) ;; *) cat "$log" >&2; return 1 ;; esac
  grep -m1 -E 'runs are sandboxed|runs will fail|NOT SANDBOXED' "$log" || true
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  trap - EXIT
  if [ "$rc" != 0 ]; then
    echo "hoist server exited $rc after SIGTERM; server log:" >&2
    cat "$log" >&2
    return 1
  fi
  echo "stopped cleanly"
}

case "${1:-all}" in
  build) build "${2:?usage: image-steps.sh build ROOT}" ;;
  run) run "${2:?usage: image-steps.sh run ROOT}" ;;
  all)
    root=$(mktemp -d "${TMPDIR:-/tmp}/hoist-image-XXXXXX")
    trap 'rm -rf "$root"' EXIT
    build "$root"
    (run "$root")
    ;;
  *) echo "usage: image-steps.sh [build ROOT | run ROOT]" >&2; exit 2 ;;
esac
