#!/usr/bin/env bash
# Installs the pinned OpenTofu into .tools/bin/tofu, from the Go module proxy.
# `go install …/cmd/tofu@v` is refused (the module has replace directives), so
# build from the module's own source tree. A cold build takes minutes, so the
# binary is also kept in a cache outside the checkout
# ($XDG_CACHE_HOME/hoist/tofu-<version>, else ~/.cache/…) that fresh clones
# copy from. Both files are written under a temporary name and renamed, so a
# concurrent run never executes a half-written binary.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.10.6
bin=".tools/bin/tofu"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/hoist/tofu-$version"

# is_pinned reports whether $1 is an executable tofu of the pinned version.
# (Not `tofu version | grep -q`: grep exits at the match, tofu may then die of
# SIGPIPE, and pipefail turns that into "not pinned".)
is_pinned() {
  local out
  [ -x "$1" ] && out=$("$1" version 2>/dev/null) && grep -qx "OpenTofu $version" <<<"$out"
}

# install_as copies $1 to $2 atomically.
install_as() {
  mkdir -p "$(dirname "$2")" && cp "$1" "$2.tmp.$$" && chmod 0755 "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
}

if is_pinned "$bin"; then
  is_pinned "$cache/tofu" || install_as "$bin" "$cache/tofu" 2>/dev/null || true
  exit 0
fi
if is_pinned "$cache/tofu"; then
  install_as "$cache/tofu" "$bin"
  echo "OpenTofu $version from $cache"
  exit 0
fi

echo "building OpenTofu $version (a few minutes, once per machine)"
start=$SECONDS
mkdir -p .tools/bin .tools/src
dir=$(go mod download -json "github.com/opentofu/opentofu@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
src=".tools/src/opentofu-$version"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
(cd "$src" && GOFLAGS=-mod=mod go build -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "../../bin/tofu.tmp.$$" ./cmd/tofu)
mv -f ".tools/bin/tofu.tmp.$$" "$bin"
rm -rf "$src"
is_pinned "$bin" || { echo "built tofu is not $version" >&2; exit 1; }
echo "built in $((SECONDS - start))s"
# The cache is an optimisation: a read-only or missing home must not fail CI.
install_as "$bin" "$cache/tofu" 2>/dev/null || echo "could not cache tofu in $cache" >&2
