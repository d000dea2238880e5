import { describe, expect, it } from 'vitest';
import { InboxFullError, createInboxWriter } from '../../src/webhooks/inbox-writer.js';
import type { AppendResult, NewWebhook } from '../../src/cutover-store.js';

const webhook = (n: number, bytes = 10): NewWebhook => ({
  channel: 'legacy', endpoint: 'legacy', dedupeKey: `w-${n}`, receivedAt: 0, headers: {}, body: Buffer.alloc(bytes), state: 'pending', detail: null,
});

/** A store whose appends wait until released. */
function heldStore() {
  const held: (() => void)[] = [];
  let nextId = 0;
  return {
    held,
    releaseAll: () => held.splice(0).forEach((release) => release()),
    append: (batch: readonly NewWebhook[]) =>
      new Promise<AppendResult[]>((resolve) => held.push(() => resolve(batch.map(() => ({ status: 'stored', inboxId: ++nextId }))))),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the inbox writer bounds what waits for the store', () => {
  it('when as many webhooks wait as the bound, then the next is refused at once with InboxFullError, and admitted again once they are stored', async () => {
    const store = heldStore();
    const writer = createInboxWriter(store, { maxWaiting: 2 });
    const first = writer.write(webhook(1));
    const second = writer.write(webhook(2));
    await expect(writer.write(webhook(3))).rejects.toBeInstanceOf(InboxFullError);
    await settle();
    store.releaseAll();
    await expect(first).resolves.toMatchObject({ status: 'stored' });
    await expect(second).resolves.toMatchObject({ status: 'stored' });
    const third = writer.write(webhook(3));
    await settle();
    store.releaseAll();
    await expect(third).resolves.toMatchObject({ status: 'stored' });
  });

  it('when the waiting bodies would pass the byte bound, then the webhook is refused; alone, a webhook of any size is admitted', async () => {
    const store = heldStore();
    const writer = createInboxWriter(store, { maxWaitingBytes: 100 });
    const large = writer.write(webhook(1, 500));
    await expect(writer.write(webhook(2, 1))).rejects.toBeInstanceOf(InboxFullError);
    await settle();
    store.releaseAll();
    await expect(large).resolves.toMatchObject({ status: 'stored' });
    const a = writer.write(webhook(3, 60));
    await expect(writer.write(webhook(4, 60))).rejects.toBeInstanceOf(InboxFullError);
    await settle();
    store.releaseAll();
    await expect(a).resolves.toMatchObject({ status: 'stored' });
  });

  it('when a queued webhook passes its deadline, then it no longer counts against the bound', async () => {
    const store = heldStore();
    const writer = createInboxWriter(store, { maxWaiting: 1 });
    const deadline = new AbortController();
    const expired = writer.write(webhook(1), deadline.signal);
    deadline.abort();
    await expect(expired).rejects.toThrow(/deadline/);
    const next = writer.write(webhook(2));
    await settle();
    store.releaseAll();
    await expect(next).resolves.toMatchObject({ status: 'stored' });
  });
});
