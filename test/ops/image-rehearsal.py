#!/usr/bin/env python3
"""`npm run image:rehearsal`: the Dockerfile's stages performed natively, where no Docker engine can build the image.

Read from the Dockerfile (test/ops/dockerfile.py), not restated here:
  build    its COPY lines into a temporary root, then its RUN lines (its dev `npm ci` is replaced by the checkout's
           installed node_modules, which `npm ci` in CI has just produced from the same lock file);
  deps     its COPY lines, then its RUN lines as written (`npm ci --omit=dev …`, better-sqlite3 built natively);
  runtime  its COPY lines from the context and the two stages above; then its ENV, USER (as `nobody`, who owns
           only the data folder), CMD and HEALTHCHECK.
Then: no dev dependency is in the runtime's node_modules, the service cannot write to its own files, it starts,
/readyz says ready on the embedded store (the native module and the background thread load), the HEALTHCHECK
command passes, production refuses unsigned webhooks, and SIGTERM stops it with exit code 0.

What it cannot show: the base image (node:20-slim, Debian's glibc) and apt-get; those need `docker build`.
Needs root (setpriv), node, npm with access to the registry, python3, make and g++. KEEP_REHEARSAL=1 keeps the folder.
"""
import json
import os
import pathlib
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import dockerfile  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
os.chdir(ROOT)
RUN_AS = 'nobody'
failures = []


def step(message):
    print(f'-- {message}', flush=True)


def check(condition, message):
    print(f'   {"ok" if condition else "FAILED"}: {message}', flush=True)
    if not condition:
        failures.append(message)
    return condition


def inside(stage_root, stage, path):
    """A path of the stage's filesystem (absolute, or relative to its WORKDIR) inside its temporary root."""
    absolute = path if path.startswith('/') else os.path.join(stage.workdir(), path)
    return stage_root / os.path.normpath(absolute).lstrip('/')


def copy(source, target, into_directory):
    if into_directory:
        target = target / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)


def perform_copies(stage, roots, stages):
    for instruction in stage.copies():
        for source in instruction['sources']:
            if instruction['from']:
                origin = stages[instruction['from']]
                source_path = inside(roots[instruction['from']], origin, source)
            else:
                source_path = ROOT / source
            if not source_path.exists():
                raise SystemExit(f'{stage.name}: COPY {source} — {source_path} does not exist')
            dest = instruction['dest']
            many = len(instruction['sources']) > 1
            copy(source_path, inside(roots[stage.name], stage, dest), into_directory=dest.endswith('/') or many)


def run_stage_commands(stage, roots):
    cwd = inside(roots[stage.name], stage, '.')
    cwd.mkdir(parents=True, exist_ok=True)
    for command in stage.all('RUN'):
        if command.startswith('apt-get'):
            print(f'   skipped (the base image\'s packages; this machine has its own): {command[:60]}…')
            continue
        words = shlex.split(command)
        if words[:2] == ['npm', 'ci'] and '--omit=dev' not in words:
            # The checkout's own `npm ci` (CI runs it first) from the same package-lock.json, dev dependencies included.
            (cwd / 'node_modules').symlink_to(ROOT / 'node_modules')
            print(f'   {command}: the checkout\'s node_modules (same lock file)')
            continue
        started = time.monotonic()
        result = subprocess.run(['sh', '-c', command], cwd=cwd)
        print(f'   {command} (exit {result.returncode}, {time.monotonic() - started:.0f} s)')
        if result.returncode != 0:
            raise SystemExit(f'{stage.name}: `{command}` failed')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def main():
    if os.geteuid() != 0:
        raise SystemExit('image-rehearsal: run as root (the service is started as nobody with setpriv)')
    stages = {s.name: s for s in dockerfile.read('Dockerfile')}
    runtime = list(stages.values())[-1]
    work = pathlib.Path(tempfile.mkdtemp(prefix='image-rehearsal-'))
    work.chmod(0o755)
    roots = {name: work / name for name in stages}
    service = None
    try:
        # The stages the runtime copies from, in the Dockerfile's order.
        needed = {c['from'] for c in runtime.copies() if c['from']}
        for name, stage in stages.items():
            if name not in needed:
                continue
            step(f'stage {name} (FROM {stage.base})')
            perform_copies(stage, roots, stages)
            run_stage_commands(stage, roots)

        step(f'stage {runtime.name} (FROM {runtime.base}): COPY only; its RUN lines are for the image\'s own filesystem')
        perform_copies(runtime, roots, stages)
        app = inside(roots[runtime.name], runtime, '.')

        lock = json.loads((ROOT / 'package-lock.json').read_text())['packages']
        dev_only = [p for p, meta in lock.items() if p.startswith('node_modules/') and meta.get('dev')]
        present = [p for p in dev_only if (app / p).exists()]
        check(not present, f'no dev dependency in the runtime\'s node_modules ({len(dev_only)} dev-only packages in the lock file; present: {present[:5]})')
        production = json.loads((ROOT / 'package.json').read_text())['dependencies']
        missing = [d for d in production if not (app / 'node_modules' / d).is_dir()]
        check(not missing, f'every production dependency is installed ({len(production)}; missing: {missing})')
        sqlite_binary = list((app / 'node_modules/better-sqlite3/build/Release').glob('*.node'))
        check(bool(sqlite_binary), 'better-sqlite3\'s native module was built or fetched')

        env = runtime.env()
        data = work / 'data'
        data.mkdir()
        owner = pwd.getpwnam(RUN_AS)
        os.chown(data, owner.pw_uid, owner.pw_gid)
        port = free_port()
        env.update({'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': '/nonexistent', 'DATA_DIR': str(data),
                    'PORT': str(port), 'HOST': '127.0.0.1', 'LOG_LEVEL': 'warn'})
        # setpriv execs (runuser would fork and hide the service's exit code behind its own signal handling).
        as_user = ['setpriv', f'--reuid={owner.pw_uid}', f'--regid={owner.pw_gid}', '--clear-groups', '--',
                   'env', '-i', *[f'{k}={v}' for k, v in env.items()]]

        user = runtime.last('USER')
        step(f'USER {user} → {RUN_AS}: the service cannot write to its own files')
        probe = subprocess.run([*as_user, 'sh', '-c', 'touch dist/main.js || exit 0; exit 1'], cwd=app, capture_output=True)
        check(probe.returncode == 0, f'{RUN_AS} cannot modify dist/main.js')

        step(f'CMD {runtime.cmd()} with NODE_ENV={env.get("NODE_ENV")}, DATA_DIR in a folder only {RUN_AS} may write')
        service = subprocess.Popen([*as_user, *runtime.cmd()], cwd=app, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        base = f'http://127.0.0.1:{port}'
        status, body = 0, ''
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and service.poll() is None:
            try:
                status, body = get(f'{base}/readyz')
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        if not check(status == 200, f'GET /readyz answers 200 ({status} {body[:300]})'):
            raise SystemExit(1)
        ready = json.loads(body)
        check(ready.get('status') == 'ready' and ready.get('store') == 'ok', f'ready on the embedded store: {ready}')
        check(any('refuses all traffic' in w for w in ready.get('warnings', [])), 'production mode: an endpoint with no secret refuses traffic (warned in /readyz)')
        check(get(f'{base}/healthz')[0] == 200, 'GET /healthz answers 200')

        request = urllib.request.Request(f'{base}/webhooks/codat/events', data=b'{}', method='POST', headers={'content-type': 'application/json'})
        code, answer = 0, ''
        try:
            urllib.request.urlopen(request, timeout=3)
        except urllib.error.HTTPError as error:
            code, answer = error.code, error.read().decode()
        check(code == 401 and 'endpoint_not_configured' in answer, f'an unsigned webhook is refused: {code} {answer}')

        health = runtime.healthcheck()
        if check(health is not None, 'the runtime stage has a HEALTHCHECK'):
            result = subprocess.run([*as_user, *health[1]], cwd=app, capture_output=True, timeout=30)
            check(result.returncode == 0, f'the HEALTHCHECK command passes ({" ".join(health[1])[:60]}…)')
        check((data / 'cutover.sqlite').exists() and (data / 'cutover.sqlite').stat().st_uid == owner.pw_uid,
              f'the store is in DATA_DIR, owned by {RUN_AS}')

        step('SIGTERM')
        service.send_signal(signal.SIGTERM)
        try:
            code = service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = None
        check(code == 0, f'the service stops with exit code 0 (got {code})')
    finally:
        if service is not None:
            if service.poll() is None:
                service.kill()
                service.wait()
            output = service.stdout.read() if service.stdout else ''
            if failures and output:
                print('   service output:\n' + '\n'.join(f'     {line}' for line in output.splitlines()[-30:]))
        if os.environ.get('KEEP_REHEARSAL') == '1':
            print(f'   kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)

    if failures:
        print(f'image rehearsal: {len(failures)} failed')
        sys.exit(1)
    print('image rehearsal: the runtime stage, performed natively, starts and serves as an unprivileged user')


if __name__ == '__main__':
    main()
