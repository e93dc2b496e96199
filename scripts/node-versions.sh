#!/usr/bin/env bash
# Runs the tests under other Node.js majors (default 22 and 24), fetched from the npm registry (the `node` package),
# so it works where only the registry is reachable. Usage: bash scripts/node-versions.sh [majors...] [-- mocha args]
# Without mocha args it runs the whole suite (npm test's mocha part); the native addon (N-API) is reused as built.
set -euo pipefail
cd "$(dirname "$0")/.."
majors=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do majors+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#majors[@]} -eq 0 ] && majors=(22 24)
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=("test/**/*.test.ts")
cache="${XDG_CACHE_HOME:-$HOME/.cache}/gaplab/node"
for major in "${majors[@]}"; do
  prefix="$cache/$major"
  if [ ! -x "$prefix/node_modules/node/bin/node" ]; then
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --no-save "node@$major" >/dev/null
  fi
  bin="$prefix/node_modules/node/bin"
  echo "== Node $("$bin/node" --version)"
  PATH="$bin:$PATH" npx mocha "${tests[@]}"
done
