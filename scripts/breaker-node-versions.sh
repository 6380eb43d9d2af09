#!/usr/bin/env bash
# The breaker package's unit and integration tests on Node.js 22 and 24 (npm test runs them on
# the host's Node.js 20). Each version installs from the npm registry as the `node` package,
# into a cache folder of its own; jest then runs on that binary, and so do its workers and
# the packing test's consumers.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("${@:-22 24}")
cache="${NODE_VERSIONS_CACHE:-${TMPDIR:-/tmp}/cb-lab-node-versions}"
for version in ${versions[*]}; do
  dir="$cache/node-$version"
  if [[ ! -x "$dir/node_modules/.bin/node" ]]; then
    echo "==> installing Node.js $version from the npm registry into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --no-save "node@$version" >/dev/null
  fi
  node_bin="$dir/node_modules/.bin/node"
  echo "==> the breaker package's tests on Node.js $("$node_bin" --version)"
  # Not the failover suites (Sentinel, Cluster): they play the servers' own failover, the same
  # under every Node.js, and take a minute each; npm test runs them on the host's Node.js.
  "$node_bin" node_modules/jest/bin/jest.js --selectProjects unit integration \
    -- 'breaker/src/(?!(sentinel|cluster)\.int\.test\.ts$)'
done
