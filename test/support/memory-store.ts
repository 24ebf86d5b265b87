// The audit store's document surface in memory, with its write-once rule, for activity tests that
// run without the dev stack (the S3 store itself is tested against the real versitygw). Writes
// under a key prefix can be refused, as an S3 outage would refuse them, and another run can be made
// to write a key right before this one's next write of it (after its read).
import { createHash } from 'node:crypto';
import { AuditObjectChanged, AuditObjectConflict, type DocumentStore, type StoredObject, type VersionedObject } from '../../lib/storage/audit-store';

export class MemoryStore implements DocumentStore {
  readonly bucket = 'memory';
  readonly docs = new Map<string, string>();
  private readonly refusals: { prefix: string; error: Error; left: number }[] = [];
  private readonly interlopers: { key: string; act: (docs: Map<string, string>) => void; left: number }[] = [];

  async checkBucket(): Promise<void> {}

  /** The map refuses a second write-once write by construction. */
  async checkWriteOnce(): Promise<void> {}

  /** The next `times` writes of keys under `prefix` fail with `error` (nothing is stored). */
  refuseWrites(prefix: string, error: Error, times = Infinity): void {
    this.refusals.push({ prefix, error, left: times });
  }

  /** Another run changes `key` right before the next `times` writes of it (overwrite or conditional replace). */
  interleave(key: string, act: (docs: Map<string, string>) => void, times = 1): void {
    this.interlopers.push({ key, act, left: times });
  }

  private writing(key: string): void {
    for (const i of this.interlopers) {
      if (i.key !== key || i.left <= 0) continue;
      i.left--;
      i.act(this.docs);
    }
    const r = this.refusals.find((x) => x.left > 0 && key.startsWith(x.prefix));
    if (!r) return;
    r.left--;
    throw r.error;
  }

  private stored(key: string, body: string): StoredObject & { etag: string } {
    const sha256 = createHash('sha256').update(body).digest('hex');
    return { bucket: this.bucket, key, sha256, bytes: Buffer.byteLength(body), etag: `"${sha256}"` };
  }

  async writeOnceJson(key: string, value: unknown): Promise<StoredObject> {
    this.writing(key);
    const body = JSON.stringify(value);
    const existing = this.docs.get(key);
    if (existing !== undefined && existing !== body)
      throw new AuditObjectConflict(this.bucket, key, this.stored(key, existing).sha256, this.stored(key, body).sha256);
    this.docs.set(key, body);
    return this.stored(key, body);
  }

  async overwriteJson(key: string, value: unknown): Promise<StoredObject> {
    this.writing(key);
    const body = JSON.stringify(value);
    this.docs.set(key, body);
    return this.stored(key, body);
  }

  async readJsonIfExists<T>(key: string): Promise<{ value: T; stored: StoredObject } | undefined> {
    const body = this.docs.get(key);
    return body === undefined ? undefined : { value: JSON.parse(body) as T, stored: this.stored(key, body) };
  }

  async getJsonIfExists<T>(key: string): Promise<T | undefined> {
    return (await this.readJsonIfExists<T>(key))?.value;
  }

  async getJson<T>(key: string, expectSha256?: string): Promise<T> {
    const found = await this.readJsonIfExists<T>(key);
    if (!found) throw new Error(`${key}: NoSuchKey`);
    if (expectSha256 && found.stored.sha256 !== expectSha256) throw new Error(`${key}: content does not match sha256 ${expectSha256}`);
    return found.value;
  }

  async readJsonVersioned<T>(key: string): Promise<VersionedObject<T> | undefined> {
    const body = this.docs.get(key);
    return body === undefined ? undefined : { value: JSON.parse(body) as T, stored: this.stored(key, body) };
  }

  async replaceJsonIfUnchanged(key: string, value: unknown, etag: string | undefined): Promise<StoredObject & { etag: string }> {
    this.writing(key);
    const existing = this.docs.get(key);
    const current = existing === undefined ? undefined : this.stored(key, existing).etag;
    if (current !== etag) throw new AuditObjectChanged(this.bucket, key, etag);
    const body = JSON.stringify(value);
    this.docs.set(key, body);
    return this.stored(key, body);
  }
}
