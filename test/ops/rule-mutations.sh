#!/usr/bin/env bash
# Proves that ops/prometheus/rules.test.yml catches wrong rules: each mutation below breaks one rule in a copy of
# ops/prometheus/, and `promtool test rules` must then FAIL. A mutation that no longer applies (the rule text
# changed) fails this script too, so the list stays honest. Run by test/ops/check.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

RULES=rules/codat-cutover.rules.yml
# description | perl substitution applied to the rules file (perl -0pe, whole file)
MUTATIONS=(
  'coverage threshold 99.5 % -> 99 %|s/ratio_rate1h\{type!=""\} < 0\.995/ratio_rate1h{type!=""} < 0.99/'
  'coverage drops a type with no "both" series|s/or\n\s*0 \* sum by \(type\) \(codat_cutover:occurrences:increase1h\{seen="legacy_only"\}\)//'
  'coverage alert without its "for"|s/(alert: CodatCutoverCoverageLow\n(?:.*\n){4})        for: 15m\n/$1/'
  'coverage alert without its volume floor|s/(increase1h\{seen=~"both\|legacy_only"\}\)) >= 10/$1 >= 0/'
  'mismatches read with increase() alone|s/\(\(codat_cutover_mismatches_total unless codat_cutover_mismatches_total offset 1h\) and \(count_over_time[^\n]*\n\s*or//'
  'new-series term without its "born while watched" guard|s/\(\(codat_cutover_mismatches_total unless codat_cutover_mismatches_total offset 1h\) and \(count_over_time[^\n]*/(codat_cutover_mismatches_total unless codat_cutover_mismatches_total offset 1h)/'
  'failed scrapes counted as scrapes without the series|s/group_left sum_over_time\(up\[1h\]\)/group_left count_over_time(up[1h])/g'
  'toggle changes summed over replicas|s/max\(increase\(codat_cutover_toggle_changes_total/sum(increase(codat_cutover_toggle_changes_total/'
  'legacy-only types not excluded after the flip|s/, type!~`[^`]*`//'
  'after-contract alert loses the vector(0) fallback|s/(increase\(codat_cutover_webhooks_received_total\{endpoint="legacy"\}\[15m\]\)\n\s*\)\n)\s*or\n\s*vector\(0\)\n/$1/'
  'dead letters growing demoted to warning|s/(alert: CodatCutoverDeadLettersGrowing\n(?:.*\n){10}\s*severity: )critical/${1}warning/'
)

promtool_bin=$(command -v promtool) || { echo "promtool not found" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run_one() { # index
  local i=$1 entry description expr dir
  entry=${MUTATIONS[$i]}
  description=${entry%%|*}
  expr=${entry#*|}
  dir="$work/m$i"
  cp -r ops/prometheus "$dir"
  perl -0pi -e "$expr" "$dir/$RULES"
  if cmp -s "ops/prometheus/$RULES" "$dir/$RULES"; then
    echo "STALE   mutation no longer applies: $description"
    return 1
  fi
  if ! "$promtool_bin" check rules "$dir/$RULES" >/dev/null 2>&1; then
    echo "INVALID mutation makes the file invalid (choose another): $description"
    return 1
  fi
  if "$promtool_bin" test rules "$dir/rules.test.yml" >/dev/null 2>&1; then
    echo "SURVIVED the tests pass with a wrong rule: $description"
    return 1
  fi
  echo "killed  $description"
}

failed=0
pids=()
for i in "${!MUTATIONS[@]}"; do
  run_one "$i" >"$work/out$i" 2>&1 &
  pids+=($!)
  # two at a time (CI machines have two cores)
  if (( ${#pids[@]} >= 2 )); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
for i in "${!MUTATIONS[@]}"; do cat "$work/out$i"; done
total=${#MUTATIONS[@]}
if (( failed )); then
  echo "rule mutations: some were not caught (see above) of $total"
  exit 1
fi
echo "rule mutations: all $total caught by ops/prometheus/rules.test.yml"
