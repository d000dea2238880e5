"""A small reader of the Dockerfile, shared by test/ops/check-dockerfile.py and test/ops/image-rehearsal.py.

Only what this repository's Dockerfile uses: FROM … AS, COPY [--from=] [--chown=], RUN, ENV k=v, WORKDIR, USER,
EXPOSE, HEALTHCHECK [options] CMD [...], CMD [...]; comments and backslash continuations.
"""
import json
import posixpath
import re
import shlex


class Stage:
    def __init__(self, name, base, parent=None):
        self.name = name
        self.base = base
        self.parent = parent  # the earlier stage this one is FROM, whose WORKDIR and ENV it inherits
        self.instructions = []  # (KEYWORD, argument text)

    def all(self, keyword):
        """This stage's own instructions (RUN, COPY, …); WORKDIR and ENV are inherited by workdir() and env()."""
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword):
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self):
        result = self.parent.env() if self.parent else {}
        for args in self.all('ENV'):
            for pair in shlex.split(args):
                key, _, value = pair.partition('=')
                result[key] = value
        return result

    def workdir(self):
        current = self.parent.workdir() if self.parent else '/'
        for args in self.all('WORKDIR'):
            current = posixpath.join(current, args.strip())
        return current

    def copies(self):
        """[{'from': stage or None, 'chown': str or None, 'sources': [...], 'dest': str}] in order."""
        result = []
        for args in self.all('COPY'):
            words = shlex.split(args)
            flags = {}
            while words and words[0].startswith('--'):
                key, _, value = words.pop(0)[2:].partition('=')
                flags[key] = value
            result.append({'from': flags.get('from'), 'chown': flags.get('chown'), 'sources': words[:-1], 'dest': words[-1]})
        return result

    def cmd(self):
        text = self.last('CMD')
        return json.loads(text) if text else None

    def healthcheck(self):
        """(options, exec-form command) of the last HEALTHCHECK, or None."""
        text = self.last('HEALTHCHECK')
        if text is None:
            return None
        match = re.match(r'^((?:--\S+\s+)*)CMD\s+(\[.*\])\s*$', text, re.S)
        if not match:
            raise ValueError(f'HEALTHCHECK must be `[options] CMD [exec form]`: {text}')
        options = dict(o[2:].split('=', 1) for o in match.group(1).split())
        return options, json.loads(match.group(2))


def parse(text):
    logical = []
    pending = ''
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith('#')):
            continue
        if pending and line.startswith('#'):
            continue
        if line.endswith('\\'):
            pending += line[:-1] + ' '
            continue
        logical.append(pending + line)
        pending = ''
    if pending:
        logical.append(pending)

    stages = []
    for line in logical:
        keyword, _, args = line.partition(' ')
        keyword = keyword.upper()
        args = ' '.join(args.split()) if keyword not in ('CMD', 'HEALTHCHECK', 'RUN') else args.strip()
        if keyword == 'FROM':
            match = re.match(r'^(\S+)(?:\s+AS\s+(\S+))?$', args, re.I)
            if not match:
                raise ValueError(f'FROM not understood: {line}')
            parent = next((s for s in stages if s.name == match.group(1)), None)
            stages.append(Stage(match.group(2) or str(len(stages)), match.group(1), parent))
        elif not stages:
            raise ValueError(f'{keyword} before FROM')
        else:
            stages[-1].instructions.append((keyword, args))
    return stages


def read(path='Dockerfile'):
    with open(path, encoding='utf-8') as f:
        return parse(f.read())
