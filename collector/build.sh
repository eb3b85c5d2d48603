#!/usr/bin/env bash
# Builds collector/_build/otelcol-mem0 with the OpenTelemetry Collector Builder (ocb).
# Cached: skips the build when the binary exists and the manifest + this script are unchanged
# (their sha256 is stored next to the binary). FORCE=1 rebuilds anyway.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

OCB_VERSION=v0.161.0 # keep equal to the component versions in builder-config.yaml
BIN=_build/otelcol-mem0
STAMP=_build/.manifest.sha256
hash=$(cat builder-config.yaml build.sh | sha256sum | cut -d' ' -f1)

if [ "${FORCE:-0}" != 1 ] && [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$hash" ]; then
  echo "collector: $BIN is up to date (manifest $hash)"
  exit 0
fi

command -v go >/dev/null || { echo "collector/build.sh: Go is required (go1.26+)" >&2; exit 1; }
t0=$SECONDS
# Where `go install` puts binaries: GOBIN when set, else the first GOPATH entry's bin.
GOBIN_DIR=$(go env GOBIN)
[ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH | cut -d: -f1)/bin"
OCB="$GOBIN_DIR/builder"
# ocb prints its version on stderr. Not piped into grep -q: SIGPIPE + pipefail would lie.
have=$("$OCB" version 2>&1 || true)
if [[ "$have" != *"$OCB_VERSION"* ]]; then
  echo "collector: installing ocb $OCB_VERSION"
  go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
fi

echo "collector: building $BIN with ocb $OCB_VERSION"
rm -f "$STAMP"
# -s -w drop symbol tables (smaller binary, faster link). VCS stamping is off: _build/ sits in
# this repository's work tree, and stamping would fail on a tree git cannot read.
: "${GOFLAGS:=-buildvcs=false}"
export GOFLAGS
"$OCB" --config builder-config.yaml --ldflags '-s -w'
"$BIN" --version
echo "$hash" > "$STAMP"
echo "collector: built in $((SECONDS - t0)) s"
