// The audit store against real S3 servers (versitygw, as in the dev stack): write-once records,
// mutable state objects, data that outlives a restart, and a server that goes away and comes back.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPaths } from '../../../scripts/dev/stack';
import { AuditObjectChanged, AuditObjectConflict, AuditStore, AuditStoreUnavailable, sha256Hex } from '../../../lib/storage/audit-store';
import { OwnS3 } from '../../support/own-s3';
import { stack, uniqueName } from '../../support/stack-env';

const env = stack();
const storeFor = (endpoint: string, bucket: string, maxAttempts?: number) =>
  new AuditStore({ bucket, endpoint, region: env.s3.region, forcePathStyle: true }, maxAttempts ? { maxAttempts } : {});

describe('audit store on the dev stack S3', () => {
  const store = storeFor(env.s3.endpoint, env.s3.bucket);

  it('writes a record once: the same body again is a no-op, a different body is refused and nothing is overwritten', async () => {
    const key = `runs/${uniqueName('write-once')}/plan.json`;
    const first = await store.writeOnceJson(key, { edges: 3 });
    expect(first).toMatchObject({ key, sha256: sha256Hex(JSON.stringify({ edges: 3 })) });

    await expect(store.writeOnceJson(key, { edges: 3 })).resolves.toEqual(first);

    const refused = await store.writeOnceJson(key, { edges: 4 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(AuditObjectConflict);
    expect(refused).toMatchObject({ key, existingSha256: first.sha256, retryable: false });
    expect((refused as Error).message).toContain(key);
    // The caller can read back what is there: the first body, unchanged.
    expect(await store.getJson(key, first.sha256)).toEqual({ edges: 3 });
  });

  it('replaces mutable state objects on every overwrite', async () => {
    const key = `inventory/${uniqueName('tags')}.json`;
    await store.overwriteJson(key, { tags: ['v1'] });
    await store.overwriteJson(key, { tags: ['v1', 'v2'] });
    expect(await store.getJson(key)).toEqual({ tags: ['v1', 'v2'] });
  });

  it('proves write-once: versitygw refuses a second If-None-Match write (checkWriteOnce passes)', async () => {
    await expect(store.checkWriteOnce()).resolves.toBeUndefined();
  });

  it('reads return the ETag; a replace names it and succeeds once, a stale or missing one is refused and writes nothing', async () => {
    const key = `inventory/${uniqueName('merge')}/signatures.json`;
    expect(await store.readJsonVersioned(key)).toBeUndefined();
    // Creating: "only if absent".
    const created = await store.replaceJsonIfUnchanged(key, { digests: ['a'] }, undefined);
    expect(created.etag).toMatch(/^".+"$/);
    await expect(store.replaceJsonIfUnchanged(key, { digests: ['x'] }, undefined)).rejects.toBeInstanceOf(AuditObjectChanged);

    const read = (await store.readJsonVersioned<{ digests: string[] }>(key))!;
    expect(read.value).toEqual({ digests: ['a'] });
    expect(read.stored.etag).toBe(created.etag);
    expect((await store.readJsonIfExists(key))!.stored.etag).toBe(created.etag);

    const next = await store.replaceJsonIfUnchanged(key, { digests: ['a', 'b'] }, read.stored.etag);
    expect(next.etag).not.toBe(created.etag);
    const stale = await store.replaceJsonIfUnchanged(key, { digests: ['a', 'c'] }, read.stored.etag).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(stale).toBeInstanceOf(AuditObjectChanged);
    expect(stale).toMatchObject({ key, expectedEtag: read.stored.etag, retryable: true });
    expect(await store.getJson(key)).toEqual({ digests: ['a', 'b'] });

    // A key that is gone is "changed" too.
    await expect(store.replaceJsonIfUnchanged(`${key}.gone`, {}, next.etag)).rejects.toBeInstanceOf(AuditObjectChanged);
  });

  it('16 writers replacing the same version at once: exactly one wins, the others are told to read again', async () => {
    const key = `inventory/${uniqueName('race')}/signatures.json`;
    const base = await store.replaceJsonIfUnchanged(key, { writer: 'none' }, undefined);
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => store.replaceJsonIfUnchanged(key, { writer: i }, base.etag)));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof AuditObjectChanged)).toBe(true);
    expect(await store.getJson(key)).toEqual({ writer: won[0] });
  });

  it('keeps objects on disk under .stack/s3, where `stack down` and `stack up` leave them', async () => {
    const key = `runs/${uniqueName('on-disk')}/report.json`;
    await store.writeOnceJson(key, { ok: true });
    const file = join(stackPaths.s3, env.s3.bucket, key);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ ok: true });
  });
});

describe('audit store across an S3 restart (own versitygw, same flags as the stack)', () => {
  const bucket = 'restart-test';
  let s3: OwnS3;

  beforeAll(async () => {
    s3 = await OwnS3.start(bucket);
  });

  afterAll(async () => {
    await s3?.remove();
  });

  it('keeps objects across a restart, fails retryably while S3 is down and works again after', async () => {
    const store = storeFor(s3.endpoint, bucket, 1);
    const key = `runs/${randomBytes(4).toString('hex')}/bundle.json`;
    const written = await store.writeOnceJson(key, { bundle: 1 });

    await s3.down();
    for (const call of [() => store.getJson(key), () => store.writeOnceJson(`${key}.2`, {}), () => store.exists(key), () => store.checkBucket()]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AuditStoreUnavailable);
      expect(err).toMatchObject({ retryable: true });
    }

    await s3.up();
    expect(await store.getJson(key, written.sha256)).toEqual({ bundle: 1 });
    // Write-once still holds after the restart: the stored record is not replaced.
    await expect(store.writeOnceJson(key, { bundle: 2 })).rejects.toBeInstanceOf(AuditObjectConflict);
    await expect(store.writeOnceJson(`${key}.2`, { more: true })).resolves.toMatchObject({ key: `${key}.2` });
  });
});
