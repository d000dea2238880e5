#!/usr/bin/env bash
# The contract phase, rehearsed: a copy of this tree without the legacy format (src/formats/legacy and its
# lines in src/formats/index.ts) must still type-check, build and pass the tests that do not name it.
# What this proves: removing the legacy consumer at the contract is deleting one folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/codat-cutover-contract.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== copying the tree (tracked and new files) to $work"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | xargs -0 cp --parents -t "$work")
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"

echo "== deleting the legacy format"
rm -r src/formats/legacy
grep -q "legacy" src/formats/index.ts
sed -i "/from '.\/legacy\//d; /^  legacyFormat,$/d" src/formats/index.ts
if grep -rlE "from '[^']*/legacy/" src --include='*.ts'; then echo "still imported above" >&2; exit 1; fi

# Tests that name the legacy format go with it: they test it (or both formats side by side).
mapfile -t dropped < <(grep -rlE "@needs-legacy-format|formats/legacy|codat/legacy|legacy-[A-Z]|sampleText\('legacy|loadSample\('legacy" test --include='*.ts' | grep -v '^test/support/' || true)
for f in "${dropped[@]}"; do rm "$f"; done
# …and so do the tests built on those (e.g. the store's contract suite, whose cases are legacy samples).
for f in "${dropped[@]}"; do
  base="$(basename "$f" .ts)"
  while IFS= read -r user; do rm -f "$user"; dropped+=("$user"); done < <(grep -rl "/$base.js'" test --include='*.ts' || true)
done
echo "== left out with it: ${#dropped[@]} test files"; printf "   %s\n" "${dropped[@]}"

echo "== type-check and build without it"
npx tsc --noEmit
npx tsc -p tsconfig.build.json --outDir "$work/dist"

echo "== the new-event tests"
npx vitest run src test/unit test/component --reporter=verbose | grep -E "after-the-contract|Test Files|Tests |FAIL"; test "${PIPESTATUS[0]}" -eq 0
