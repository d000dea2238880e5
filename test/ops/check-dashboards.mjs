#!/usr/bin/env node
/**
 * Checks the Grafana dashboards (ops/grafana/dashboards/*.json) and the metric names the ops files use.
 * Run by test/ops/check.sh; plain Node, no dependencies.
 *
 * - every dashboard parses as JSON, has a uid and a title; panel ids are unique; panels fit the 24-column grid
 *   without overlapping; every query panel has targets with an expression and the provisioned datasource uid;
 *   every $variable is defined (or one of Grafana's own);
 * - every codat_cutover_* name used by a dashboard or a rule file is a metric src/observability/metrics.ts
 *   defines (histograms: _bucket/_sum/_count), every codat_cutover:* name is a recording rule, and every
 *   process_/nodejs_ name is one of prom-client's default metrics;
 * - the metrics the cutover is read by are on the dashboard (directly or through a recording rule);
 * - the legacy-only types excluded by CodatCutoverLegacyPrimaryAfterFlip are those of src/domain/domain-event.ts;
 * - writes every dashboard expression, with Grafana's variables substituted, as a rule file to argv[2], so that
 *   check.sh can have promtool parse them (`promtool check rules`).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path) => readFileSync(join(ROOT, path), 'utf8');
const problems = [];
const notes = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
};

// ---- what exists ---------------------------------------------------------------------------------------------
const metricsSource = read('src/observability/metrics.ts');
const exported = new Set([...metricsSource.matchAll(/'(codat_cutover_[a-z0-9_]+)'/g)].map((m) => m[1]));
check(exported.size > 0, 'no codat_cutover_* metric found in src/observability/metrics.ts');
const histograms = new Set(
  [...metricsSource.matchAll(/new Histogram[^(]*\(\s*\{\s*name:\s*'([a-z0-9_]+)'/g)].map((m) => m[1]),
);

const ruleDir = 'ops/prometheus/rules';
const ruleFiles = readdirSync(join(ROOT, ruleDir)).filter((f) => f.endsWith('.yml')).map((f) => `${ruleDir}/${f}`);
const ruleText = Object.fromEntries(ruleFiles.map((f) => [f, read(f)]));
const recorded = new Map(); // name -> source text of its expressions
for (const text of Object.values(ruleText)) {
  // "- record: name\n  expr: ..." up to the next rule
  for (const m of text.matchAll(/- record:\s*(\S+)\s*\n([\s\S]*?)(?=\n\s*- (?:record|alert):|\n\s*- name:|$)/g)) {
    recorded.set(m[1], (recorded.get(m[1]) ?? '') + m[2]);
  }
}

const promClientDir = join(ROOT, 'node_modules', 'prom-client', 'lib', 'metrics');
const promClientNames = existsSync(promClientDir)
  ? new Set(
      readdirSync(promClientDir)
        .filter((f) => f.endsWith('.js'))
        .flatMap((f) => [...readFileSync(join(promClientDir, f), 'utf8').matchAll(/'((?:process|nodejs)_[a-z0-9_]+)'/g)].map((m) => m[1])),
    )
  : null;
if (!promClientNames) notes.push('node_modules/prom-client not installed: process_/nodejs_ names not checked');

const datasourceUids = new Set(
  readdirSync(join(ROOT, 'ops/grafana/provisioning/datasources'))
    .flatMap((f) => [...read(`ops/grafana/provisioning/datasources/${f}`).matchAll(/^\s*uid:\s*(\S+)/gm)].map((m) => m[1])),
);

// ---- names used in an expression -----------------------------------------------------------------------------
const NAME = /(?<![A-Za-z0-9_:"'`$.{=~])([a-zA-Z_:][a-zA-Z0-9_:]*)(?=\s*(?:\{|\[|\)|$|\s|offset|>|<|=|!|\*|\/|\+|-|,))/g;
function namesIn(expr) {
  const stripped = expr.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*'/g, '""');
  return [...stripped.matchAll(NAME)].map((m) => m[1]).filter((n) => /^(codat_cutover|process_|nodejs_)/.test(n));
}
function checkName(name, where) {
  if (name.startsWith('codat_cutover:')) {
    check(recorded.has(name), `${where}: ${name} is not a recording rule in ${ruleDir}`);
  } else if (name.startsWith('codat_cutover_')) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const ok = exported.has(name) || (histograms.has(base) && base !== name);
    check(ok, `${where}: ${name} is not a metric of src/observability/metrics.ts`);
  } else if (promClientNames) {
    check(promClientNames.has(name), `${where}: ${name} is not one of prom-client's default metrics`);
  }
}
const sourcesOf = (name, seen = new Set()) => {
  if (seen.has(name)) return [];
  seen.add(name);
  if (!name.startsWith('codat_cutover:')) return [name.replace(/_(bucket|sum|count)$/, '')];
  return namesIn(recorded.get(name) ?? '').flatMap((n) => sourcesOf(n, seen));
};

for (const [file, text] of Object.entries(ruleText)) {
  for (const m of text.matchAll(/expr:\s*(\|[\s\S]*?(?=\n\s*(?:for|labels|annotations|- record|- alert|- name):|\n\s*#|$)|.*)/g)) {
    for (const name of namesIn(m[1])) checkName(name, file);
  }
}

// ---- dashboards ------------------------------------------------------------------------------------------------
const dashboardDir = 'ops/grafana/dashboards';
const dashboards = readdirSync(join(ROOT, dashboardDir)).filter((f) => f.endsWith('.json'));
check(dashboards.length > 0, `no dashboard in ${dashboardDir}`);
const BUILTIN_VARS = new Set(['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s', '__range_ms', '__all', '__dashboard']);
const promqlRules = [];
const usedOnDashboards = new Set();

for (const file of dashboards) {
  const where = `${dashboardDir}/${file}`;
  let dashboard;
  try {
    dashboard = JSON.parse(read(where));
  } catch (error) {
    problems.push(`${where}: not valid JSON (${error.message})`);
    continue;
  }
  check(typeof dashboard.uid === 'string' && dashboard.uid.length > 0, `${where}: no uid`);
  check(typeof dashboard.title === 'string' && dashboard.title.length > 0, `${where}: no title`);
  const variables = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  check(panels.length > 0, `${where}: no panels`);
  const ids = new Set();
  const boxes = [];
  const queries = [];
  for (const panel of panels) {
    const label = `${where}: panel ${panel.id} "${panel.title}"`;
    check(Number.isInteger(panel.id) && !ids.has(panel.id), `${label}: missing or duplicate id`);
    ids.add(panel.id);
    const g = panel.gridPos;
    check(g && [g.x, g.y, g.w, g.h].every(Number.isInteger) && g.x >= 0 && g.x + g.w <= 24 && g.w > 0 && g.h > 0, `${label}: gridPos outside the 24-column grid`);
    if (g) boxes.push({ label, ...g });
    if (panel.type === 'row') continue;
    check(Array.isArray(panel.targets) && panel.targets.length > 0, `${label}: no query`);
    const refIds = new Set();
    for (const target of panel.targets ?? []) {
      check(typeof target.expr === 'string' && target.expr.trim().length > 0, `${label}: a target without expr`);
      check(!refIds.has(target.refId), `${label}: duplicate refId ${target.refId}`);
      refIds.add(target.refId);
      const uid = target.datasource?.uid ?? panel.datasource?.uid;
      check(datasourceUids.has(uid), `${label}: datasource uid ${uid} is not provisioned (${[...datasourceUids].join(', ')})`);
      queries.push({ label, expr: target.expr ?? '' });
    }
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    if (annotation.expr) queries.push({ label: `${where}: annotation "${annotation.name}"`, expr: annotation.expr });
  }
  for (const variable of dashboard.templating?.list ?? []) {
    const q = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const metric = q?.match(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/);
    if (metric) checkName(metric[1], `${where}: variable ${variable.name}`);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      check(!overlap, `${a.label} overlaps ${b.label}`);
    }
  }
  for (const { label, expr } of queries) {
    for (const m of expr.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
      check(variables.has(m[1]) || BUILTIN_VARS.has(m[1]), `${label}: undefined variable $${m[1]}`);
    }
    for (const name of namesIn(expr)) {
      checkName(name, label);
      for (const source of sourcesOf(name)) usedOnDashboards.add(source);
    }
    promqlRules.push({
      record: `dashboard_query:${promqlRules.length}`,
      expr: expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*'),
      _where: label,
    });
  }
}

// ---- what the cutover is read by must be on the dashboard ---------------------------------------------------------
const REQUIRED = [
  'codat_cutover_occurrences_total', 'codat_cutover_channel_lag_seconds', 'codat_cutover_mismatches_total',
  'codat_cutover_rescued_total', 'codat_cutover_domain_events_total', 'codat_cutover_webhooks_received_total',
  'codat_cutover_toggle_enabled', 'codat_cutover_toggle_rollout_percent', 'codat_cutover_toggle_changes_total',
  'codat_cutover_verdict', 'codat_cutover_ready', 'codat_cutover_flag_server_reachable', 'codat_cutover_backlog',
  'codat_cutover_deliveries_total',
];
for (const name of REQUIRED) {
  check(exported.has(name), `src/observability/metrics.ts no longer defines ${name}, which the dashboard and alerts are built on`);
  check(usedOnDashboards.has(name), `no dashboard shows ${name}`);
}
for (const name of exported) {
  if (!usedOnDashboards.has(name)) notes.push(`${name} (src/observability/metrics.ts) is on no dashboard`);
}

// ---- the legacy-only types the after-flip alert excludes ------------------------------------------------------------
const domainSource = read('src/domain/domain-event.ts');
const legacyOnly = [...domainSource.matchAll(/'([a-zA-Z.]+)':\s*'legacy-only'/g)].map((m) => m[1]).sort();
const alertRules = ruleText['ops/prometheus/rules/codat-cutover.rules.yml'] ?? '';
const excluded = alertRules.match(/role="primary", type!~`([^`]*)`/);
check(excluded !== null, 'CodatCutoverLegacyPrimaryAfterFlip: the type!~`…` exclusion was not found');
if (excluded) {
  const inRule = excluded[1].split('|').map((t) => t.replace(/\\\./g, '.')).sort();
  check(
    JSON.stringify(inRule) === JSON.stringify(legacyOnly),
    `CodatCutoverLegacyPrimaryAfterFlip excludes [${inRule.join(', ')}], src/domain/domain-event.ts has legacy-only [${legacyOnly.join(', ')}]`,
  );
}

// ---- report ------------------------------------------------------------------------------------------------
const out = process.argv[2];
if (out) {
  const rules = { groups: [{ name: 'dashboard-queries', rules: promqlRules.map(({ record, expr }) => ({ record, expr })) }] };
  writeFileSync(out, `${JSON.stringify(rules, null, 2)}\n`); // JSON is YAML: promtool reads it
  writeFileSync(`${out}.where`, promqlRules.map((r) => `${r.record}\t${r._where}`).join('\n'));
}
for (const note of notes) console.log(`note: ${note}`);
if (problems.length > 0) {
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  process.exit(1);
}
console.log(
  `dashboards: ${dashboards.length} file(s), ${promqlRules.length} queries; every metric name is defined (${exported.size} service metrics, ${recorded.size} recording rules)`,
);
