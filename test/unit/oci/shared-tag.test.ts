// The update loop of the tags several writers share (lib/oci/shared-tag.ts), on a tag in memory
// whose other writers act at the moments that matter: between our read and our write, and between
// our write and our read-back. Entries are lines of text; a merge is their union.
import { describe, expect, it } from 'vitest';
import { OciError, sha256Digest, updateSharedTag, type SharedTag, type SharedTagUpdate, type TagContent } from '../../../lib/oci';

const encode = (lines: string[]) => new TextEncoder().encode(lines.join('\n'));
const linesOf = (c: TagContent | undefined) => (c ? new TextDecoder().decode(c.bytes).split('\n').filter(Boolean) : []);

class MemoryTag implements SharedTag {
  readonly where = 'reg.example/app:shared';
  content: TagContent | undefined;
  writes = 0;
  /** Another writer, right after our read (before our write) / right after our write. */
  beforeWrite: (() => void)[] = [];
  afterWrite: (() => void)[] = [];
  constructor(readonly honoursConditions: boolean) {}

  put(lines: string[]): void {
    const bytes = encode(lines);
    this.content = { bytes, digest: sha256Digest(bytes) };
  }
  async read() {
    return this.content;
  }
  async digest() {
    return this.content?.digest;
  }
  async write(c: { bytes: Uint8Array; digest: string }, readAt: string | undefined) {
    this.beforeWrite.shift()?.();
    if (this.honoursConditions && this.content?.digest !== readAt) throw new OciError({ code: 'PRECONDITION_FAILED', status: 412, message: 'changed' });
    this.writes++;
    this.content = { bytes: c.bytes, digest: c.digest };
    this.afterWrite.shift()?.();
  }
}

const adding = (ours: string[]): SharedTagUpdate => ({
  merge(current) {
    const there = linesOf(current);
    const missing = ours.filter((l) => !there.includes(l));
    if (missing.length === 0) return undefined;
    const bytes = encode([...there, ...missing]);
    return { bytes, digest: sha256Digest(bytes), mediaType: 'text/plain' };
  },
});

const noWait = { sleep: async () => {} };

describe('updateSharedTag', () => {
  it('merges into what the tag holds when written: an entry another writer added before our read stays', async () => {
    const tag = new MemoryTag(false);
    tag.put(['theirs']);
    expect(await updateSharedTag(tag, adding(['ours']), noWait)).toBe('written');
    expect(linesOf(tag.content)).toEqual(['theirs', 'ours']);
    expect(await updateSharedTag(tag, adding(['ours']), noWait)).toBe('unchanged');
    expect(tag.writes).toBe(1);
  });

  it('where the registry honours the condition, an entry added between our read and our write survives: the 412 makes us read again', async () => {
    const tag = new MemoryTag(true);
    tag.beforeWrite.push(() => tag.put(['theirs']));
    expect(await updateSharedTag(tag, adding(['ours']), noWait)).toBe('written');
    expect(linesOf(tag.content)).toEqual(['theirs', 'ours']);
  });

  it('a writer that replaces the tag right after our write, without merging, makes us merge and write again', async () => {
    const tag = new MemoryTag(false);
    tag.afterWrite.push(() => tag.put(['theirs']));
    expect(await updateSharedTag(tag, adding(['ours']), noWait)).toBe('written');
    expect(linesOf(tag.content)).toEqual(['theirs', 'ours']);
    expect(tag.writes).toBe(2);
  });

  it('a writer who came after us and kept our entry costs no second write', async () => {
    const tag = new MemoryTag(false);
    tag.afterWrite.push(() => tag.put(['ours', 'theirs']));
    expect(await updateSharedTag(tag, adding(['ours']), noWait)).toBe('written');
    expect(linesOf(tag.content)).toEqual(['ours', 'theirs']);
    expect(tag.writes).toBe(1);
  });

  it('gives up after its rounds with a retryable error that names the tag, pausing with growing jitter in between', async () => {
    const tag = new MemoryTag(false);
    const pauses: number[] = [];
    for (let i = 0; i < 10; i++) tag.afterWrite.push(() => tag.put([`other-${i}`]));
    const err = await updateSharedTag(tag, adding(['ours']), { rounds: 4, backoffMs: 100, random: () => 0.5, sleep: async (ms) => void pauses.push(ms) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OciError);
    expect(err).toMatchObject({ retryable: true, message: expect.stringContaining('reg.example/app:shared') });
    expect(tag.writes).toBe(4);
    expect(pauses).toEqual([50, 100, 200]);
  });
});
