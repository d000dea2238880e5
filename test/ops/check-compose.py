#!/usr/bin/env python3
"""Checks that docker-compose.yml stays equivalent to what the integration tests start natively, and that the
files it mounts fit together (Prometheus targets, Grafana provisioning). Run by test/ops/check.sh after
`docker-compose config -q`; reads the normalised file that `docker-compose config` prints (no Docker engine needed).

Writes the service's environment as JSON to the path given as argv[1] (check.sh then runs it through the
service's own configuration schema, src/config.ts).
"""
import json
import os
import re
import subprocess
import sys

import yaml  # python3-yaml: a dependency of Debian's docker-compose

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))
os.chdir(ROOT)
problems = []
notes = []


def check(condition, message):
    if not condition:
        problems.append(message)


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


compose = yaml.safe_load(subprocess.run(['docker-compose', 'config'], check=True, capture_output=True, text=True).stdout)
services = compose['services']
for name in ('postgres', 'unleash-flags', 'unleash', 'cutover', 'prometheus', 'grafana'):
    check(name in services, f'docker-compose.yml has no service {name}')
if problems:
    print('\n'.join(problems))
    sys.exit(1)


def image_tag(service):
    image = services[service].get('image', '')
    return image.rsplit(':', 1)[1] if ':' in image else ''


def mounts(service):
    """{target: source} of a service's volumes (normalised by `docker-compose config`)."""
    result = {}
    for volume in services[service].get('volumes', []):
        if isinstance(volume, dict):
            result[volume['target']] = volume.get('source', '')
        else:
            parts = volume.split(':')
            result[parts[1]] = parts[0]
    return result


def repo_path(source):
    return os.path.relpath(source, ROOT) if os.path.isabs(source) else source


# --- Unleash: as test/integration/support/unleash-server.ts starts it -----------------------------------------
it_source = read('test/integration/support/unleash-server.ts')
version = re.search(r"UNLEASH_SERVER_VERSION\s*=\s*'([^']+)'", it_source)
check(version is not None, 'UNLEASH_SERVER_VERSION not found in test/integration/support/unleash-server.ts')
if version:
    check(services['unleash']['image'] == f'unleashorg/unleash-server:{version.group(1)}',
          f"unleash image is {services['unleash']['image']}, the integration tests run unleash-server@{version.group(1)}")

env_block = re.search(r'\benv:\s*\{(.*?)\n\s*\},?\s*\n', it_source, re.S)
check(env_block is not None, 'the env block of the Unleash process was not found in unleash-server.ts')
it_keys = set(re.findall(r'\b([A-Z][A-Z0-9_]{2,})\s*:', env_block.group(1))) if env_block else set()
# Not needed in a container: the image's PATH/HOME, and it listens on 0.0.0.0:4242 by default.
NATIVE_ONLY = {'PATH', 'HOME', 'HTTP_HOST', 'HTTP_PORT'}
unleash_env = services['unleash'].get('environment', {})
for key in sorted(it_keys - NATIVE_ONLY):
    check(key in unleash_env, f'unleash: {key} is set by the integration tests but not in docker-compose.yml')
for key in sorted(set(unleash_env) - it_keys):
    notes.append(f'unleash: {key} is set in docker-compose.yml only')
for key in ('DATABASE_URL', 'DATABASE_SSL', 'INIT_ADMIN_API_TOKENS', 'INIT_BACKEND_API_TOKENS', 'IMPORT_FILE',
            'IMPORT_PROJECT', 'IMPORT_ENVIRONMENT'):
    check(key in it_keys, f'the integration tests no longer set {key}: re-check docker-compose.yml')
for key in ('DATABASE_SSL', 'IMPORT_PROJECT', 'IMPORT_ENVIRONMENT', 'NODE_ENV', 'CHECK_VERSION', 'SEND_TELEMETRY'):
    literal = re.search(rf"\b{key}:\s*'([^']*)'", it_source)
    if literal and key in unleash_env:
        check(str(unleash_env[key]) == literal.group(1),
              f"unleash: {key}={unleash_env[key]!r}, the integration tests use {literal.group(1)!r}")
check(re.match(r'^\*:\*\.', str(unleash_env.get('INIT_ADMIN_API_TOKENS', ''))), 'unleash: admin tokens must be *:*.<secret>')
backend = str(unleash_env.get('INIT_BACKEND_API_TOKENS', ''))
check(backend.startswith('default:development.'), 'unleash: the backend token must be for default:development')

# --- the flag provisioning (IMPORT_FILE only on first start) -------------------------------------------------
flags_mounts = mounts('unleash-flags')
check(repo_path(flags_mounts.get('/flags', '')) == 'flags', 'unleash-flags must mount ./flags at /flags')
check(repo_path(flags_mounts.get('/ops/provision-flags.sh', '')) == 'ops/unleash/provision-flags.sh',
      'unleash-flags must mount ops/unleash/provision-flags.sh')
import_file = str(unleash_env.get('IMPORT_FILE', ''))
shared = [t for t in mounts('unleash') if import_file.startswith(t.rstrip('/') + '/')]
check(len(shared) == 1 and shared[0] in flags_mounts and mounts('unleash')[shared[0]] == flags_mounts[shared[0]],
      'unleash: IMPORT_FILE must be on the volume that unleash-flags writes')
condition = services['unleash'].get('depends_on', {}).get('unleash-flags', {}).get('condition')
check(condition == 'service_completed_successfully', 'unleash must start only after unleash-flags completed')
check(os.path.isfile('flags/unleash-export.json'), 'flags/unleash-export.json is missing')

# --- PostgreSQL 15, as on the machines the integration tests run on -------------------------------------------
pg_tag = image_tag('postgres')
check(pg_tag.split('.')[0] == '15', f'postgres image {pg_tag}: the integration tests run on PostgreSQL 15')
if os.path.isdir('/etc/postgresql'):
    local = sorted(os.listdir('/etc/postgresql'))
    if local and local[-1] != pg_tag.split('.')[0]:
        notes.append(f'this machine runs PostgreSQL {local[-1]}, docker-compose.yml {pg_tag}')
check(image_tag('unleash-flags') == pg_tag, 'unleash-flags should use the same postgres image (psql)')
init_sql = [s for t, s in mounts('postgres').items() if t.startswith('/docker-entrypoint-initdb.d/')]
check(any(os.path.isfile(repo_path(s)) for s in init_sql), 'postgres: the init script creating the Unleash database is missing')
unleash_db = str(unleash_env.get('DATABASE_URL', '')).rsplit('/', 1)[-1]
check(any(f'CREATE DATABASE {unleash_db}' in read(repo_path(s)) for s in init_sql if os.path.isfile(repo_path(s))),
      f'postgres: no init script creates the database {unleash_db} that Unleash uses')

# --- the service: configured as the integration tests configure it ------------------------------------------
cutover = services['cutover']
cutover_env = cutover.get('environment', {})
for key in ('DATABASE_URL', 'UNLEASH_URL', 'UNLEASH_API_TOKEN'):
    check(cutover_env.get(key), f'cutover: {key} must be set, as in the integration tests')
check(cutover_env.get('UNLEASH_API_TOKEN') == backend, 'cutover: UNLEASH_API_TOKEN must be the backend token Unleash is given')
check(str(cutover_env.get('UNLEASH_URL', '')).startswith('http://unleash:4242/api'), 'cutover: UNLEASH_URL must point at the unleash service')
check(str(cutover_env.get('DATABASE_URL', '')).startswith('postgres://') and '@postgres:5432/' in str(cutover_env.get('DATABASE_URL', '')),
      'cutover: DATABASE_URL must point at the postgres service')
check(os.path.isfile(os.path.join(cutover.get('build', {}).get('context', ROOT), 'Dockerfile')), 'cutover: Dockerfile missing')
dockerfile = read('Dockerfile')
node_major = re.search(r'^FROM node:(\d+)', dockerfile, re.M)
check(node_major is not None, 'Dockerfile: FROM node:<major> expected')
engines = json.loads(read('package.json')).get('engines', {}).get('node', '')
minimum = re.search(r'>=\s*(\d+)', engines)
if node_major and minimum:
    check(int(node_major.group(1)) >= int(minimum.group(1)), f'Dockerfile node:{node_major.group(1)} does not satisfy engines {engines}')
# What `npm start` does: install, compile, run the compiled service with plain node.
check('npm ci' in dockerfile and 'npm run build' in dockerfile and '"node", "dist/main.js"' in dockerfile,
      'Dockerfile: npm ci, npm run build, then node dist/main.js (as npm start)')
start_script = json.loads(read('package.json'))['scripts']['start']
check('dist/main.js' in start_script, 'package.json: npm start runs dist/main.js, as the Dockerfile does')
port = str(cutover_env.get('PORT', '3000'))

# --- Prometheus: scrapes the service and Unleash, with the rules loaded ---------------------------------------
prom_mounts = mounts('prometheus')
check(repo_path(prom_mounts.get('/etc/prometheus', '')) == 'ops/prometheus', 'prometheus must mount ops/prometheus at /etc/prometheus')
promtool = subprocess.run(['promtool', '--version'], capture_output=True, text=True).stdout + \
    subprocess.run(['promtool', '--version'], capture_output=True, text=True).stderr
local_version = re.search(r'version (\d+\.\d+)', promtool)
prom_tag = image_tag('prometheus')
if local_version:
    check(prom_tag.lstrip('v').startswith(local_version.group(1) + '.'),
          f'prometheus image {prom_tag}, but CI tests the rules with promtool {local_version.group(1)}')
prometheus_yml = yaml.safe_load(read('ops/prometheus/prometheus.yml'))
jobs = {job['job_name']: job for job in prometheus_yml['scrape_configs']}
targets = lambda job: [t for sc in jobs.get(job, {}).get('static_configs', []) for t in sc.get('targets', [])]
check(f'cutover:{port}' in targets('codat-cutover'), f'prometheus: job codat-cutover must scrape cutover:{port}')
check('unleash:4242' in targets('unleash'), 'prometheus: job unleash must scrape unleash:4242')
check(jobs.get('unleash', {}).get('metrics_path') == '/internal-backstage/prometheus',
      'prometheus: Unleash serves its metrics at /internal-backstage/prometheus')
check(any('rules/' in f for f in prometheus_yml.get('rule_files', [])), 'prometheus: rule files not loaded')
command = ' '.join(services['prometheus'].get('command', []))
check('--config.file=/etc/prometheus/prometheus.yml' in command, 'prometheus: --config.file must be the mounted prometheus.yml')

# --- Grafana: datasource and dashboards provisioned ---------------------------------------------------------
graf_mounts = mounts('grafana')
check(repo_path(graf_mounts.get('/etc/grafana/provisioning', '')) == 'ops/grafana/provisioning',
      'grafana must mount ops/grafana/provisioning at /etc/grafana/provisioning')
datasources = yaml.safe_load(read('ops/grafana/provisioning/datasources/prometheus.yml'))['datasources']
check(any(ds.get('url') == 'http://prometheus:9090' and ds.get('uid') == 'prometheus' for ds in datasources),
      'grafana: the datasource must be uid "prometheus" at http://prometheus:9090')
providers = yaml.safe_load(read('ops/grafana/provisioning/dashboards/codat-cutover.yml'))['providers']
for provider in providers:
    path = provider['options']['path']
    check(repo_path(graf_mounts.get(path, '')) == 'ops/grafana/dashboards',
          f'grafana: the dashboards provider reads {path}, which is not the mount of ops/grafana/dashboards')
home = str(services['grafana'].get('environment', {}).get('GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH', ''))
if home:
    folder, name = os.path.split(home)
    check(repo_path(graf_mounts.get(folder, '')) == 'ops/grafana/dashboards' and os.path.isfile(f'ops/grafana/dashboards/{name}'),
          f'grafana: the home dashboard {home} is not a mounted dashboard')

for note in notes:
    print(f'note: {note}')
if problems:
    print('\n'.join(f'PROBLEM: {p}' for p in problems))
    sys.exit(1)
if len(sys.argv) > 1:
    with open(sys.argv[1], 'w', encoding='utf-8') as f:
        json.dump({k: '' if v is None else str(v) for k, v in cutover_env.items()}, f)
print('docker-compose.yml: equivalent to the integration tests\' servers; mounts and targets fit together')
