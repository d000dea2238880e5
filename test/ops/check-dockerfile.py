#!/usr/bin/env python3
"""The Dockerfile, checked without a Docker engine (none in CI): run by test/ops/check.sh.

- the last stage is the runtime: NODE_ENV=production, a non-root USER before CMD, a HEALTHCHECK on a route the app
  serves (the same one docker-compose.yml probes), `node dist/main.js` as `npm start` runs it;
- its node_modules come from a stage that installs production dependencies only (`npm ci --omit=dev`) and
  compiles nothing; it copies nothing else from the context than package*.json and flags/ (no sources, no tests);
- the build stage installs everything and runs `npm run build`, and what the runtime takes from it exists after
  that build: the CMD's script and every worker file the code loads beside itself (`new URL('./x.js', import.meta.url)`),
  compiled here with the build's own tsconfig into a temporary folder (`--noCheck`: CI type-checks separately, and
  emitting without checking takes seconds, not a minute);
- every file copied from the context exists and is not excluded by .dockerignore, which keeps node_modules, .data,
  dist and test out of the context.

What this cannot show (needs `docker build`): the base image and apt-get. `npm run image:rehearsal` performs the
stages natively and starts the result as an unprivileged user.
"""
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(__file__))
import dockerfile  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))
os.chdir(ROOT)
problems = []


def check(condition, message):
    if not condition:
        problems.append(message)
    return condition


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


stages = dockerfile.read('Dockerfile')
by_name = {s.name: s for s in stages}
check(len(stages) >= 2, 'Dockerfile: a multi-stage build expected (build and runtime)')
runtime = stages[-1]
keywords = [kw for kw, _ in runtime.instructions]

# --- the runtime stage -----------------------------------------------------------------------------------------
check(runtime.env().get('NODE_ENV') == 'production', 'runtime: ENV NODE_ENV=production expected')
user = runtime.last('USER')
if check(user is not None, 'runtime: no USER, so it runs as root'):
    name = user.split(':')[0]
    check(name not in ('root', '0'), f'runtime: USER {user} is root')
    check('CMD' in keywords and keywords.index('CMD') > max(i for i, kw in enumerate(keywords) if kw == 'USER'),
          'runtime: USER must come before CMD')
package = json.loads(read('package.json'))
cmd = runtime.cmd()
check(cmd == ['node', 'dist/main.js'], f'runtime: CMD ["node", "dist/main.js"] expected, found {cmd}')
check('node dist/main.js' in package['scripts']['start'], 'package.json: npm start runs node dist/main.js, as the image does')

app_ts = read('src/app/app.ts')
served = set(re.findall(r"app\.get\('(/[a-z]+)'", app_ts))
health = runtime.healthcheck()
if check(health is not None, 'runtime: no HEALTHCHECK'):
    probed = re.findall(r'/(healthz|readyz)\b', ' '.join(health[1]))
    check(len(probed) == 1 and f'/{probed[0]}' in served, f'runtime: the HEALTHCHECK must probe /healthz or /readyz, which src/app/app.ts serves ({sorted(served)})')
    check(health[1][:1] != ['curl'] and health[1][:1] != ['wget'], 'runtime: node:*-slim has neither curl nor wget; probe with node')
    compose = yaml.safe_load(read('docker-compose.yml'))
    compose_test = ' '.join(compose['services']['cutover'].get('healthcheck', {}).get('test', []))
    if compose_test and probed:
        check(f'/{probed[0]}' in compose_test, f'docker-compose.yml probes another path than the image\'s HEALTHCHECK (/{probed[0]})')
    compose_user = str(compose['services']['cutover'].get('user', ''))
    check(not re.match(r'^(root|0)(:|$)', compose_user), f'docker-compose.yml runs the service as {compose_user}')

for command in runtime.all('RUN'):
    check(not re.search(r'\bnpm\s+(ci|install|i)\b', command), f'runtime: installs packages itself ({command}); copy them from a production-only stage')
copies = runtime.copies()
modules = [c for c in copies if any(s.rstrip('/').endswith('node_modules') for s in c['sources'])]
if check(len(modules) == 1 and modules[0]['from'] in by_name, 'runtime: node_modules must be copied --from one earlier stage'):
    deps = by_name[modules[0]['from']]
    installs = [c for c in deps.all('RUN') if re.search(r'\bnpm\s+ci\b', c)]
    check(len(installs) == 1 and '--omit=dev' in installs[0].split(), f'stage {deps.name}: exactly one `npm ci --omit=dev` expected, found {installs}')
    check(not any('npm run build' in c for c in deps.all('RUN')), f'stage {deps.name}: production dependencies only, no build')
    check(all(s in ('package.json', 'package-lock.json') for c in deps.copies() if not c['from'] for s in c['sources']),
          f'stage {deps.name}: copies only package.json and package-lock.json, so that its layer is cached across code changes')
context_sources = [s for c in copies if not c['from'] for s in c['sources']]
for source in context_sources:
    check(source.rstrip('/') in ('package.json', 'package-lock.json', 'flags'), f'runtime: copies {source} from the context (sources and tests stay out)')
check('flags' in [s.rstrip('/') for s in context_sources], 'runtime: flags/ is the bootstrap (FLAGS_FILE default) and must be copied')

# --- the build stage, and what the runtime takes from it ---------------------------------------------------------
from_build = [c for c in copies if c['from'] and c is not (modules[0] if modules else None)]
build_names = {c['from'] for c in from_build}
check(len(build_names) == 1, f'runtime: the compiled code must come from one build stage, found {sorted(build_names)}')
build = by_name.get(next(iter(build_names), ''), None)
compiled_dir = json.loads(read('tsconfig.build.json'))['compilerOptions']['outDir']
if build is not None:
    runs = build.all('RUN')
    check(any(re.search(r'\bnpm\s+ci\b', c) and '--omit=dev' not in c for c in runs), f'stage {build.name}: npm ci with dev dependencies (TypeScript) expected')
    check(any('npm run build' in c for c in runs), f'stage {build.name}: npm run build expected')
    check(package['scripts']['build'].startswith('tsc -p tsconfig.build.json'), 'package.json: the build is tsc -p tsconfig.build.json')
    for c in build.copies():
        for source in c['sources']:
            check(source.rstrip('/') not in ('.', 'test', 'node_modules'), f'stage {build.name}: copies {source}')
    workdir = build.workdir().rstrip('/')
    for c in from_build:
        for source in c['sources']:
            check(source.rstrip('/') == f'{workdir}/{compiled_dir}', f'runtime: takes {source} from {build.name}; expected {workdir}/{compiled_dir}')
    dests = [c['dest'].rstrip('/') for c in from_build]
    check(any(d in (f'./{compiled_dir}', compiled_dir, f'{runtime.workdir().rstrip("/")}/{compiled_dir}') for d in dests),
          f'runtime: the build output must land in {compiled_dir}/, where CMD runs it')

    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(['npx', 'tsc', '-p', 'tsconfig.build.json', '--outDir', out, '--noCheck'], capture_output=True, text=True)
        if check(result.returncode == 0, f'npm run build fails: {result.stdout[-1000:]}{result.stderr[-500:]}'):
            expected = []
            if cmd and len(cmd) > 1 and cmd[1].startswith(f'{compiled_dir}/'):
                expected.append(cmd[1][len(compiled_dir) + 1:])
            for folder, _, files in os.walk('src'):
                for name in files:
                    if not name.endswith('.ts'):
                        continue
                    text = read(os.path.join(folder, name))
                    for relative in re.findall(r"new URL\('(\./[^']+\.js)', import\.meta\.url\)", text):
                        expected.append(os.path.normpath(os.path.join(os.path.relpath(folder, 'src'), relative)))
            for path in expected:
                check(os.path.isfile(os.path.join(out, path)), f'after npm run build, {compiled_dir}/{path} (which the runtime loads) does not exist')
            print(f'build output holds what the runtime loads: {", ".join(f"{compiled_dir}/{p}" for p in expected)}')

# --- the build context -------------------------------------------------------------------------------------------
ignored = [line.strip().rstrip('/') for line in read('.dockerignore').splitlines() if line.strip() and not line.startswith('#')]
for entry in ('node_modules', '.data', 'dist', 'test', '.git'):
    check(entry in ignored, f'.dockerignore: {entry} must stay out of the build context')
for stage in stages:
    for c in stage.copies():
        if c['from']:
            continue
        for source in c['sources']:
            check(os.path.exists(source), f'stage {stage.name}: COPY {source}, which does not exist')
            check(not any(fnmatch.fnmatch(source.rstrip('/'), pattern) for pattern in ignored),
                  f'stage {stage.name}: COPY {source}, which .dockerignore excludes')

if problems:
    print('\n'.join(f'PROBLEM: {p}' for p in problems))
    sys.exit(1)
print(f'Dockerfile: {len(stages)} stages; the runtime runs as {user} with NODE_ENV=production, HEALTHCHECK on /{probed[0]}, '
      f'production dependencies from stage {modules[0]["from"]}, compiled code from stage {build.name if build else "?"}')
