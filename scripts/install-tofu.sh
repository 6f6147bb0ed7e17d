#!/usr/bin/env bash
# Builds the pinned OpenTofu into .tools/bin/tofu once, from the Go module proxy.
# `go install …/cmd/tofu@v` is refused (the module has replace directives), so
# build from the module's own source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.10.6
bin=".tools/bin/tofu"
if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "${version#v}"; then
  exit 0
fi
mkdir -p .tools/bin .tools/src
dir=$(go mod download -json "github.com/opentofu/opentofu@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
src=".tools/src/opentofu-$version"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
(cd "$src" && GOFLAGS=-mod=mod go build -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "../../bin/tofu" ./cmd/tofu)
"$bin" version
