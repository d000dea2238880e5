#!/usr/bin/env bash
# Ops checks: the Prometheus configuration and rules (with their unit tests), the Grafana dashboards,
# docker-compose.yml and the Dockerfile. Called by .ci/run; runs on its own too: `bash test/ops/check.sh`.
#
# Needs promtool and docker-compose (Debian: `apt-get install -y prometheus docker-compose`), node, python3 with
# yaml (a dependency of docker-compose), and for the last check psql with a PostgreSQL at 127.0.0.1:5432 (skipped
# when there is none, except in CI). No Docker engine: `docker-compose config -q` validates without one.
# OPS_CHECK_MUTATIONS=0 skips the slowest check (about 45 s), which proves the rule tests catch wrong rules.
set -uo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
failures=()

step() { # name, command...
  local name=$1
  shift
  echo "-- $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAILED: $name"
  fi
}

for tool in promtool docker-compose node python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "test/ops/check.sh: $tool is missing (apt-get install -y prometheus docker-compose)" >&2
    exit 1
  fi
done

step "promtool check config ops/prometheus/prometheus.yml" promtool check config ops/prometheus/prometheus.yml
step "promtool check rules ops/prometheus/rules/*.rules.yml" promtool check rules ops/prometheus/rules/*.rules.yml
step "promtool test rules ops/prometheus/rules.test.yml" promtool test rules ops/prometheus/rules.test.yml
if [ "${OPS_CHECK_MUTATIONS:-1}" != "0" ]; then
  step "the rule tests fail on wrong rules (test/ops/rule-mutations.sh)" bash test/ops/rule-mutations.sh
fi

step "dashboards: JSON, panels, metric names (test/ops/check-dashboards.mjs)" \
  node test/ops/check-dashboards.mjs "$work/dashboard-queries.yml"
step "dashboards: every query is valid PromQL (promtool check rules)" \
  promtool check rules "$work/dashboard-queries.yml"

step "docker-compose config -q" docker-compose config -q
step "docker-compose.yml equivalent to the integration tests (test/ops/check-compose.py)" \
  python3 test/ops/check-compose.py "$work/cutover-env.json"
step "Dockerfile: runtime stage non-root, HEALTHCHECK, production deps only, copies what the build makes (test/ops/check-dockerfile.py)" \
  python3 test/ops/check-dockerfile.py
if [ -d node_modules/tsx ]; then
  step "the service's environment in docker-compose.yml passes src/config.ts" \
    node --import tsx test/ops/compose-env-config.ts "$work/cutover-env.json"
else
  echo "-- skipped: the compose environment against src/config.ts (npm install first)"
fi

provision_flags() {
  local db="ops_check_flags_$$" url target="$work/unleash-import.json" out
  url="postgres://postgres@127.0.0.1:5432/$db"
  psql -X -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" || return 1
  local ok=0
  run() { UNLEASH_DATABASE_URL=$url FLAGS_SOURCE=flags/unleash-export.json IMPORT_TARGET=$target sh ops/unleash/provision-flags.sh; }
  # 1. fresh database (Unleash has not created its tables): the file is imported
  out=$(run) && cmp -s "$target" flags/unleash-export.json || { echo "fresh database: expected the flags file ($out)"; ok=1; }
  # 2. Unleash's tables without the flag: imported
  psql -X -q -h 127.0.0.1 -U postgres -d "$db" -c "CREATE TABLE features (name text); INSERT INTO features VALUES ('another-flag')"
  out=$(run) && cmp -s "$target" flags/unleash-export.json || { echo "flag missing: expected the flags file ($out)"; ok=1; }
  # 3. the flag is there: an empty export, so Unleash keeps its state
  psql -X -q -h 127.0.0.1 -U postgres -d "$db" -c "INSERT INTO features VALUES ('codat-new-event-types')"
  # One flag there, one new (a release that adds a flag): only the new one is imported.
  out=$(run) && grep -q '"name" *: *"codat-legacy-consumer"' "$target" && ! grep -q '"name" *: *"codat-new-event-types"' "$target" \
    || { echo "one flag new: expected an export of that flag only ($out)"; ok=1; }
  psql -X -q -h 127.0.0.1 -U postgres -d "$db" -c "INSERT INTO features VALUES ('codat-legacy-consumer')"
  out=$(run) && grep -q '"features":\[\]' "$target" || { echo "flag present: expected an empty export ($out)"; ok=1; }
  # 4. on purpose: re-import
  out=$(UNLEASH_REIMPORT_FLAGS=true run) && cmp -s "$target" flags/unleash-export.json || { echo "UNLEASH_REIMPORT_FLAGS=true: expected the flags file"; ok=1; }
  # 5. unreadable database: fail, so that Unleash does not start on a guess
  if UNLEASH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/${db}_missing" FLAGS_SOURCE=flags/unleash-export.json \
    IMPORT_TARGET="$work/never.json" sh ops/unleash/provision-flags.sh >/dev/null 2>&1; then
    echo "unreachable database: expected a failure"
    ok=1
  fi
  psql -X -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || ok=1
  [ $ok = 0 ] && echo "ops/unleash/provision-flags.sh: imports only when a flag is missing, else keeps Unleash's state"
  return $ok
}
if command -v psql >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  step "ops/unleash/provision-flags.sh against PostgreSQL (IMPORT_FILE only on first start)" provision_flags
elif [ "${CI:-}" = "true" ]; then
  step "ops/unleash/provision-flags.sh needs PostgreSQL at 127.0.0.1:5432 in CI" false
else
  echo "-- skipped: ops/unleash/provision-flags.sh (no PostgreSQL at 127.0.0.1:5432)"
fi

echo "ops: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
  printf '  failed: %s\n' "${failures[@]}"
  exit 1
fi
