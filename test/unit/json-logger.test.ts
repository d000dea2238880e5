import { describe, expect, it, vi } from 'vitest';
import { createPinoLogger } from '../../src/observability/json-logger.js';

function capture(level: 'debug' | 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = createPinoLogger(level, { write: (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>) });
  return { logger, lines };
}

describe('the JSON logger', () => {
  it('when a child only writes below the level, then no pino child is made; the first line written makes one, once', () => {
    const { logger, lines } = capture('info');
    const makeChild = vi.spyOn(logger.pino, 'child');
    const child = logger.child({ requestId: 'r-1' });
    child.debug('not written', { bytes: 1 });
    expect(makeChild).not.toHaveBeenCalled();
    child.info('written', { bytes: 2 });
    child.warn('written too');
    expect(makeChild).toHaveBeenCalledTimes(1);
    expect(lines).toMatchObject([
      { level: 'info', message: 'written', requestId: 'r-1', bytes: 2 },
      { level: 'warn', message: 'written too', requestId: 'r-1' },
    ]);
  });

  it('when children are nested, then a line carries every binding and secrets are redacted', () => {
    const { logger, lines } = capture('debug');
    logger.child({ requestId: 'r-2' }).child({ occurrenceId: 'o-1' }).debug('nested', { token: 'hunter2' });
    expect(lines).toMatchObject([{ level: 'debug', message: 'nested', requestId: 'r-2', occurrenceId: 'o-1', token: '[redacted]' }]);
  });
});
