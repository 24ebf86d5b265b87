// Read-merge-replace of the S3 documents several runs update (lib/storage/shared-document.ts), on
// the memory store with its conditional replace: another run writing between our read and our
// write makes ours fail its condition, and the merge starts again from what that run wrote.
import { describe, expect, it } from 'vitest';
import { AuditObjectChanged } from '../../../lib/storage/audit-store';
import { mergeSharedDocument } from '../../../lib/storage/shared-document';
import { MemoryStore } from '../../support/memory-store';

type List = { keys: string[] };
const KEY = 'state/attestations/app/sha256-abc.json';
const adding =
  (key: string) =>
  (list: List | undefined): List | undefined =>
    list?.keys.includes(key) ? undefined : { keys: [...(list?.keys ?? []), key] };
const noWait = { sleep: async () => {} };

/** A memory store where other runs write `KEY` right before our next conditional replaces. */
class Contended extends MemoryStore {
  readonly others: List[] = [];
  override async replaceJsonIfUnchanged(key: string, value: unknown, etag: string | undefined) {
    const other = this.others.shift();
    if (other) await this.overwriteJson(key, other);
    return super.replaceJsonIfUnchanged(key, value, etag);
  }
}

describe('mergeSharedDocument', () => {
  it("keeps another run's entry written between our read and our write, and ours", async () => {
    const store = new Contended();
    store.others.push({ keys: ['run-b'] });
    expect(await mergeSharedDocument<List>(store, KEY, adding('run-a'), noWait)).toBe(true);
    expect(await store.getJson<List>(KEY)).toEqual({ keys: ['run-b', 'run-a'] });
  });

  it('writes nothing when the document holds our entry already', async () => {
    const store = new MemoryStore();
    await store.overwriteJson(KEY, { keys: ['run-a'] });
    expect(await mergeSharedDocument<List>(store, KEY, adding('run-a'), noWait)).toBe(false);
  });

  it('a stale known copy costs one refused write, not a lost entry', async () => {
    const store = new MemoryStore();
    await store.overwriteJson(KEY, { keys: ['run-b'] });
    expect(await mergeSharedDocument<List>(store, KEY, adding('run-a'), { ...noWait, known: { value: undefined, etag: undefined } })).toBe(true);
    expect(await store.getJson<List>(KEY)).toEqual({ keys: ['run-b', 'run-a'] });
  });

  it('gives up after its rounds with the retryable conflict', async () => {
    const store = new Contended();
    for (let i = 0; i < 5; i++) store.others.push({ keys: [`other-${i}`] });
    const err = await mergeSharedDocument<List>(store, KEY, adding('run-a'), { ...noWait, rounds: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditObjectChanged);
    expect((err as AuditObjectChanged).retryable).toBe(true);
  });
});
