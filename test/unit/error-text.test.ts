import { describe, expect, it } from 'vitest';
import { errorText } from '../../src/delivery/error-text.js';

describe('errorText', () => {
  it('when fetch fails with a cause, then the dead letter says what happened, not only "fetch failed"', () => {
    const error = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    expect(errorText(error)).toBe('TypeError: fetch failed — caused by: Error: connect ECONNREFUSED 127.0.0.1:9');
  });

  it('when an error has no cause, then it reads as before', () => {
    expect(errorText(new Error('downstream answered 503'))).toBe('Error: downstream answered 503');
    expect(errorText('plain')).toBe('plain');
  });

  it('when a value that is not an Error is thrown or is a cause, then the dead letter shows its fields, not [object Object]', () => {
    expect(errorText({ code: 'EDOWNSTREAM', status: 502 })).toBe("{ code: 'EDOWNSTREAM', status: 502 }");
    expect(errorText(new Error('sink failed', { cause: { reason: 'quota' } }))).toBe("Error: sink failed — caused by: { reason: 'quota' }");
  });
});
