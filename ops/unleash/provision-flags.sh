#!/bin/sh
# Decides what the Unleash server imports at this start (docker-compose.yml: the one-shot service `unleash-flags`).
#
# Why: Unleash's IMPORT_FILE re-imports the file on EVERY start and resets the flags in it to the file's state
# (measured with unleash-server 8.2.0: a flag turned on in the UI is off again after a restart). During a cutover
# that would silently flip every company back to the legacy channel whenever Unleash restarts. So:
#   - no flag of flags/unleash-export.json in Unleash's database (first start, fresh volume): the file is
#       imported, as in the integration tests, which start every Unleash on a fresh database;
#   - some of its flags missing (a release that adds one): only those are imported;
#   - every flag already there: an empty export is imported instead (a no-op), so the state set in Unleash
#       (UI or Admin API) survives restarts;
#   - UNLEASH_REIMPORT_FLAGS=true: the file is imported anyway and resets the flags to it, on purpose.
# Needs: sh and psql (the postgres image), UNLEASH_DATABASE_URL. Fails (and so keeps Unleash from starting) when
# the database cannot be read, rather than guessing. Tested against PostgreSQL by test/ops/check.sh.
set -eu

SOURCE=${FLAGS_SOURCE:-/flags/unleash-export.json}
TARGET=${IMPORT_TARGET:-/provisioning/unleash-import.json}
: "${UNLEASH_DATABASE_URL:?UNLEASH_DATABASE_URL is required}"

import_file() {
  cp "$SOURCE" "$TARGET.tmp" && mv "$TARGET.tmp" "$TARGET"
  echo "unleash-flags: $1: Unleash will import $SOURCE (its flags take the file's state)"
}

if [ "${UNLEASH_REIMPORT_FLAGS:-false}" = "true" ]; then
  import_file "UNLEASH_REIMPORT_FLAGS=true"
  exit 0
fi

psql_value() {
  psql "$UNLEASH_DATABASE_URL" -X -q -t -A -v ON_ERROR_STOP=1 -v flags="$(cat "$SOURCE")"
}
# How many flags of the file are not in Unleash yet (all of them before Unleash has created its tables).
if [ "$(echo "SELECT to_regclass('public.features') IS NOT NULL;" | psql_value)" = "t" ]; then
  missing=$(psql_value <<'SQL'
SELECT count(*) FROM json_array_elements(:'flags'::json -> 'features') AS f
WHERE NOT EXISTS (SELECT 1 FROM features WHERE name = f ->> 'name');
SQL
  )
else
  missing=$(echo "SELECT json_array_length(:'flags'::json -> 'features');" | psql_value)
fi

total=$(echo "SELECT json_array_length(:'flags'::json -> 'features');" | psql_value)
if [ "$missing" = "$total" ]; then
  import_file "$missing flag(s) not in Unleash yet"
elif [ "$missing" != "0" ]; then
  # A release that adds a flag: import only the new ones, so the flags already there keep the state set in
  # Unleash (importing the whole file would reset a rollout in progress).
  psql_value >"$TARGET.tmp" <<'SQL'
WITH file AS (SELECT :'flags'::json AS j),
new AS (SELECT f ->> 'name' AS name FROM file, json_array_elements(j -> 'features') AS f
        WHERE NOT EXISTS (SELECT 1 FROM features WHERE features.name = f ->> 'name'))
SELECT json_build_object(
  'features', (SELECT coalesce(json_agg(f), '[]') FROM file, json_array_elements(j -> 'features') f WHERE f ->> 'name' IN (SELECT name FROM new)),
  'featureStrategies', (SELECT coalesce(json_agg(s), '[]') FROM file, json_array_elements(j -> 'featureStrategies') s WHERE s ->> 'featureName' IN (SELECT name FROM new)),
  'featureEnvironments', (SELECT coalesce(json_agg(e), '[]') FROM file, json_array_elements(j -> 'featureEnvironments') e WHERE e ->> 'featureName' IN (SELECT name FROM new)),
  'contextFields', (SELECT coalesce(j -> 'contextFields', '[]') FROM file),
  'featureTags', '[]'::json, 'segments', '[]'::json, 'tagTypes', '[]'::json, 'dependencies', '[]'::json, 'links', '[]'::json);
SQL
  mv "$TARGET.tmp" "$TARGET"
  echo "unleash-flags: $missing of $total flag(s) of $SOURCE not in Unleash yet: importing only those, the others keep their state"
else
  printf '%s\n' '{"features":[],"featureStrategies":[],"featureEnvironments":[],"contextFields":[],"featureTags":[],"segments":[],"tagTypes":[],"dependencies":[],"links":[]}' >"$TARGET.tmp"
  mv "$TARGET.tmp" "$TARGET"
  echo "unleash-flags: every flag of $SOURCE is already in Unleash: importing nothing, its state is kept (UNLEASH_REIMPORT_FLAGS=true to reset it)"
fi
