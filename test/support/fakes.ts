import type { DownstreamSink } from '../../src/delivery/downstream-sink.js';
import type { Clock, ToggleDefinition, ToggleReader, ToggleSourceStatus } from '../../src/domain/ports.js';

/** A toggle a test flips by hand; `onFor` narrows "on" to some companies (a gradual rollout). */
export class FakeToggle implements ToggleReader {
  on = false;
  onFor: ((companyId: string | null) => boolean) | null = null;
  async close(): Promise<void> {}
  isNewEventsPrimary(companyId: string | null): boolean {
    return this.onFor ? this.onFor(companyId) : this.on;
  }
  rolloutPercent = 100;
  /** codat-legacy-consumer: false once the test contracts. */
  legacyConsumer = true;
  status(): ToggleSourceStatus {
    return { source: 'bootstrap', serverReachable: null, lastError: null };
  }
  definition(): ToggleDefinition {
    const legacyConsumer = this.legacyConsumer;
    return this.on || this.onFor ? { enabled: true, rolloutPercent: this.onFor ? this.rolloutPercent : 100, legacyConsumer } : { enabled: false, rolloutPercent: 0, legacyConsumer };
  }
}

export class ManualClock implements Clock {
  constructor(public current = Date.UTC(2026, 10, 23, 12, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface RecordedDelivery {
  readonly idempotencyKey: string;
  readonly body: Record<string, unknown>;
}

/** The downstream as a list; `failNext` makes the next N deliveries fail. */
export class RecordingSink implements DownstreamSink {
  readonly description = 'recording sink';
  readonly deliveries: RecordedDelivery[] = [];
  failNext = 0;
  async deliver(payload: string, idempotencyKey: string): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('downstream unavailable (test)');
    }
    this.deliveries.push({ idempotencyKey, body: JSON.parse(payload) as Record<string, unknown> });
  }
  types(): string[] {
    return this.deliveries.map((d) => String(d.body.type)).sort();
  }
}
