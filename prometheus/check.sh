#!/usr/bin/env bash
# Checks the lab's Prometheus setup with promtool, from any current directory:
#   1. `promtool check config` on prometheus.yml (with the rule files it names),
#   2. `promtool check rules` on rules/*.yml,
#   3. `promtool test rules` on the unit tests in tests/*.yml,
#   4. that every alert in rules/ has at least one test naming it.
# Exits non-zero if any of them fails. PROMTOOL=/path/to/promtool picks another binary.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
promtool="${PROMTOOL:-promtool}"

if ! command -v "$promtool" >/dev/null 2>&1; then
  cat >&2 <<EOF
check.sh: promtool not found (looked for '$promtool'; set PROMTOOL to use another path).
Install it with the Prometheus package of Debian or Ubuntu:

  sudo apt-get install prometheus

or run the same checks with the promtool of the Prometheus image, for example:

  docker run --rm -v "$here:/etc/prometheus:ro" -w /etc/prometheus --entrypoint sh \\
    prom/prometheus:v3.5.0 -c 'promtool check config prometheus.yml &&
      promtool check rules rules/*.yml && promtool test rules tests/*.yml'
EOF
  exit 127
fi

shopt -s nullglob
rule_files=("$here"/rules/*.yml)
test_files=("$here"/tests/*.yml)
shopt -u nullglob

failures=()
fail() {
  echo "FAILED: $1" >&2
  failures+=("$1")
}

echo "Using $("$promtool" --version 2>&1 | head -n 1)"

# 1. prometheus.yml names its rule files by their path in the container, where compose mounts
# ./prometheus at /etc/prometheus. On the host that path does not exist, so the check runs on a
# temporary copy in which /etc/prometheus/ is replaced by this directory; everything else is
# the file as Prometheus loads it.
echo
echo "==> promtool check config prometheus.yml (with /etc/prometheus/ read as $here/)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
config="$(<"$here/prometheus.yml")"
# The quoted replacement is taken literally (no & or \ expansion, whatever the path holds).
printf '%s\n' "${config//\/etc\/prometheus\//"$here/"}" >"$tmp/prometheus.yml"
if output="$("$promtool" check config "$tmp/prometheus.yml" 2>&1)"; then
  printf '%s\n' "$output"
  # A rule_files glob that matches nothing is not an error for promtool: make sure the config
  # really loads every rule file of rules/.
  for file in "${rule_files[@]}"; do
    if ! grep -qF "$file" <<<"$output"; then
      fail "prometheus.yml does not load ${file#"$here/"} (check rule_files: /etc/prometheus/rules/*.yml)"
    fi
  done
else
  printf '%s\n' "$output"
  fail "promtool check config prometheus.yml"
fi

echo
echo "==> promtool check rules rules/*.yml"
if ((${#rule_files[@]} == 0)); then
  fail "no rule files in $here/rules"
elif ! "$promtool" check rules "${rule_files[@]}"; then
  fail "promtool check rules"
fi

echo "==> promtool test rules tests/*.yml"
if ((${#test_files[@]} == 0)); then
  fail "no rule tests in $here/tests"
elif ! "$promtool" test rules "${test_files[@]}"; then
  fail "promtool test rules"
fi

echo "==> every alert has a test"
if ((${#rule_files[@]} > 0)); then
  alerts="$(sed -n 's/^[[:space:]]*-[[:space:]]*alert:[[:space:]]*\([A-Za-z0-9_:]*\).*/\1/p' "${rule_files[@]}" | sort -u)"
  for alert in $alerts; do
    if ((${#test_files[@]} > 0)) && grep -qE "alertname:[[:space:]]*['\"]?$alert['\"]?[[:space:]]*$" "${test_files[@]}"; then
      echo "  $alert: tested"
    else
      fail "alert $alert has no test in tests/ (alert_rule_test with alertname: $alert)"
    fi
  done
fi

echo
if ((${#failures[@]} > 0)); then
  echo "Prometheus checks FAILED (${#failures[@]}):" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "All Prometheus checks passed: config, rules and rule tests."
