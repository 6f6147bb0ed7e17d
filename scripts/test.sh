#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, lints, tests.
# Usage: bash scripts/test.sh   (from anywhere inside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"
export PATH="$tools/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
  fi
fi
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  export HOIST_TEST_POSTGRES="${HOIST_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
  echo "using $HOIST_TEST_POSTGRES"
else
  echo "PostgreSQL is not reachable: PostgreSQL store tests will be skipped" >&2
fi

step "tools"
if [ ! -x "$tools/bin/staticcheck" ]; then
  GOBIN="$tools/bin" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
# The pinned OpenTofu the run tests execute (built once from the module proxy).
bash scripts/install-tofu.sh
# Headless Chromium for the web UI's browser tests (Debian's package), with a
# font so that screenshots show text.
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-dejavu-core
fi
# axe-core (npm), which the browser tests inject into every page to check
# its accessibility (internal/web/a11y_test.go).
if [ ! -f "$tools/axe/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y npm
  fi
  mkdir -p "$tools/axe"
  npm install --prefix "$tools/axe" --no-audit --no-fund --no-save axe-core@4.11.0
fi

step "lint"
unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
staticcheck ./...
# go.mod and go.sum say exactly what the code imports.
if ! go mod tidy -diff; then
  echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1
fi

step "test"
# The hoist binary, built once for every package whose tests run it
# (internal/apptest.Binary); readable by the unprivileged user sandboxed
# runs re-exec it as.
bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"' EXIT
chmod 755 "$bin_dir"
go build -o "$bin_dir/hoist" ./cmd/hoist
export HOIST_TEST_BINARY="$bin_dir/hoist"
# The packages whose work is concurrent (queue, intake, write-back, agents,
# scheduler, workers, the GitLab adapter's shared clients, the metrics)
# run under the race detector, every other package without it: each test
# runs once, with the detector's checks where they matter, rather than
# twice. (No file depends on the race build tag.)
# internal/ingest and internal/store/sqlstore: webhook processing reads
# the store's shared read cache (a repository's stacks) from many workers.
race_pkgs=$(go list ./internal/jobqueue/... ./internal/webhook/... ./internal/feedback/... \
  ./internal/vcsagent/... ./internal/run/... ./internal/worker/... ./internal/vcs/gitlab/... ./internal/metrics/... \
  ./internal/ingest/... ./internal/store/sqlstore/)
# The slowest packages first: go test runs two packages at a time on two
# cores, in the order given, and a slow package started last is the
# suite's tail. internal/app takes about 1.5 minutes on a quiet 2-core
# machine and over 4 on a heavily loaded one; internal/web and cmd/hoist
# about half that. A hung test fails its package (with every goroutine's
# stack) after 10 minutes.
slow_pkgs=$(go list ./internal/app/ ./internal/web/ ./cmd/hoist/)
other_pkgs=$(go list ./... | grep -vxF -e "$(printf '%s\n' $slow_pkgs $race_pkgs)")
# -ldflags=-w: test binaries without DWARF, which no test reads (stack
# traces come from the symbol table); it halves each link, of some seventy
# test binaries.
go test -count=1 -timeout 10m -ldflags=-w $slow_pkgs $other_pkgs

step "race"
go test -race -count=1 -timeout 10m -ldflags=-w $race_pkgs
