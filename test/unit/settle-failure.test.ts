import { describe, expect, it } from 'vitest';
import { classifySettleFailure } from '../../src/ledger/settle-failure.js';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('which settle failures count towards quarantine', () => {
  const cases: [string, unknown, { transient: boolean; code: string }][] = [
    ['a PostgreSQL serialization failure', withCode('40001'), { transient: true, code: '40001' }],
    ['a PostgreSQL deadlock', withCode('40P01'), { transient: true, code: '40P01' }],
    ['a PostgreSQL connection failure', withCode('08006'), { transient: true, code: '08006' }],
    ['a PostgreSQL administrator shutdown', withCode('57P01'), { transient: true, code: '57P01' }],
    ['a PostgreSQL statement timeout', withCode('57014'), { transient: true, code: '57014' }],
    ['PostgreSQL out of connections', withCode('53300'), { transient: true, code: '53300' }],
    ['a PostgreSQL lock not available', withCode('55P03'), { transient: true, code: '55P03' }],
    ['a reset socket', withCode('ECONNRESET'), { transient: true, code: 'ECONNRESET' }],
    ['pg losing its connection (no code)', new Error('Connection terminated unexpectedly'), { transient: true, code: 'connection_lost' }],
    ['pg timing out on connect (no code)', new Error('timeout exceeded when trying to connect'), { transient: true, code: 'connection_lost' }],
    ['a busy SQLite database', withCode('SQLITE_BUSY_SNAPSHOT'), { transient: true, code: 'SQLITE_BUSY_SNAPSHOT' }],
    ['a full disk under SQLite', withCode('SQLITE_FULL'), { transient: true, code: 'SQLITE_FULL' }],
    ['text PostgreSQL cannot store', withCode('22021'), { transient: false, code: '22021' }],
    ['an index row too large', withCode('54000'), { transient: false, code: '54000' }],
    ['a constraint violation', withCode('SQLITE_CONSTRAINT_UNIQUE'), { transient: false, code: 'SQLITE_CONSTRAINT_UNIQUE' }],
    ['a bug in the ledger', new TypeError("Cannot read properties of undefined (reading 'action')"), { transient: false, code: 'TypeError' }],
    ['a URIError from an id derivation', new URIError('URI malformed'), { transient: false, code: 'URIError' }],
    ['something that is not an Error', 'a string', { transient: false, code: 'Error' }],
    ['a code that is not a plain word', withCode('bad code\u0000'), { transient: false, code: 'Error' }],
  ];
  for (const [label, error, expected] of cases) {
    it(`when a settle fails with ${label}, then it is ${expected.transient ? 'transient (not counted)' : 'counted'} as ${expected.code}`, () => {
      expect(classifySettleFailure(error)).toEqual(expected);
    });
  }
});
