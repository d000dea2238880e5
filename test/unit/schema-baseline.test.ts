import { describe, expect, it } from 'vitest';
import { baselineStatements } from '../../src/store/schema-baseline.js';
import { schemaMigrations } from '../../src/store/schema.js';
import { schemaStatements } from '../fixtures/schema/previous-release-schema.js';

describe('the schema steps', () => {
  it.each(['sqlite', 'postgres'] as const)('when the baseline is read (%s), then it is the previous release\'s statements, character for character', (dialect) => {
    // Their fingerprint is how a database the previous release made is recognised and adopted: an edit here
    // would make every such database run the statements again (table locks on PostgreSQL) instead.
    expect(baselineStatements(dialect)).toEqual(schemaStatements(dialect));
  });

  it.each(['sqlite', 'postgres'] as const)('when the steps are listed (%s), then each name starts with the next four-digit number', (dialect) => {
    // Kysely runs them in the order of their names and refuses a database whose recorded steps are not a prefix.
    const names = Object.keys(schemaMigrations(dialect));
    expect(names.map((name) => name.slice(0, 5))).toEqual(names.map((_, i) => `${String(i + 1).padStart(4, '0')}_`));
  });
});
