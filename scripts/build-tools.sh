#!/usr/bin/env bash
# Builds the operating tools pinned in tools/*/go.mod (Jaeger, Prometheus and promtool, grpc-health-probe) into a
# cache folder outside the checkout (PULSE_TOOLS_CACHE, default ~/.cache/pulse/tools/bin), and reuses them when that
# folder was built from the same go.mod and go.sum files and Go version (a stamp file): a warm run, fresh clones
# included, takes seconds. Prints the folder on its last line; tests find the tools through PULSE_TOOLS_BIN (the
# same default).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${PULSE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulse/tools/bin}"
# module folder under tools/, then the programs it builds (their binary names are the packages' last elements)
MODULES=(
  "jaeger github.com/jaegertracing/jaeger/cmd/jaeger"
  "prometheus github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool"
  "grpc-health-probe github.com/grpc-ecosystem/grpc-health-probe"
)
TOOLS=()
for module in "${MODULES[@]}"; do
  for package in ${module#* }; do TOOLS+=("${package##*/}"); done
done

if ! command -v go >/dev/null 2>&1; then
  echo "build-tools: Go is not installed; the tests that need ${TOOLS[*]} skip (or fail with PULSE_REQUIRE_TOOLS=1)" >&2
  exit 1
fi

stamp="$(cat tools/*/go.mod tools/*/go.sum <(go version) | sha256sum | cut -d' ' -f1)"
fresh=1
for tool in "${TOOLS[@]}"; do [[ -x "$BIN/$tool" ]] || fresh=0; done
if ((fresh)) && [[ "$(cat "$BIN/.stamp" 2>/dev/null)" == "$stamp" ]]; then
  echo "build-tools: reusing ${TOOLS[*]} in $BIN (built from these tools/*/go.sum)" >&2
else
  echo "build-tools: building ${TOOLS[*]} from tools/*/go.mod into $BIN (minutes when cold)" >&2
  mkdir -p "$BIN"
  rm -f "$BIN/.stamp"
  for module in "${MODULES[@]}"; do
    read -r dir packages <<<"$module"
    # -mod=readonly: exactly the versions committed in go.sum, never resolved anew.
    # shellcheck disable=SC2086 # packages is a list
    (cd "tools/$dir" && go build -mod=readonly -trimpath -o "$BIN/" $packages)
  done
  echo "$stamp" >"$BIN/.stamp"
fi
echo "$BIN"
