import { createHash, randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/**
 * The audit store: S3 holds everything too big for workflow history (manifest bundles,
 * plans, per-batch results, reports, attestations). Writes are keyed so that a retried
 * activity rewrites the same bytes at the same key, never a second copy elsewhere.
 *
 * Two kinds of write, named in the API:
 * - writeOnce / writeOnceJson: audit records. A key is written once (a conditional PUT with
 *   `If-None-Match: *`); writing the same body again is a no-op, a different body is refused with
 *   an AuditObjectConflict and the first object stays as it was.
 * - overwrite / overwriteJson: the few mutable state objects (the per-repository tag records
 *   under `inventory/…`, `state/latest-promoted-bundle.json`), replaced on every write.
 * - replaceIfUnchanged / replaceJsonIfUnchanged: a read-modify-write of a shared object
 *   (`If-Match: <etag>`, or `If-None-Match: *` for one not there yet): AuditObjectChanged when
 *   another writer got there first, so the caller reads again and merges instead of losing a write.
 *
 * Write-once rests on the backend honouring `If-None-Match: *`: checkWriteOnce proves it does.
 */
export interface AuditStoreConfig {
  bucket: string;
  /** Custom endpoint (versitygw, MinIO...). Unset means AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
}

export interface StoredObject {
  bucket: string;
  key: string;
  sha256: string;
  bytes: number;
  /** The object's ETag as S3 gave it (quotes included), where the call returns one. */
  etag?: string;
}

/** A stored object with what a conditional replace needs: its ETag. */
export interface VersionedObject<T> {
  value: T;
  stored: StoredObject & { etag: string };
}

/** A write-once key already holds a different body: nothing was overwritten. */
export class AuditObjectConflict extends Error {
  override name = 'AuditObjectConflict';
  readonly retryable = false;
  constructor(
    readonly bucket: string,
    readonly key: string,
    /** sha256 of what the key holds (read it back with getBytes/getJson). */
    readonly existingSha256: string,
    readonly attemptedSha256: string,
  ) {
    super(`s3://${bucket}/${key} is write-once and already holds different content (sha256 ${existingSha256}, refused ${attemptedSha256})`);
  }
}

/**
 * A conditional replace found the object changed (or created, or deleted) since it was read:
 * nothing was written. Read it again, merge, and try again.
 */
export class AuditObjectChanged extends Error {
  override name = 'AuditObjectChanged';
  readonly retryable = true;
  constructor(
    readonly bucket: string,
    readonly key: string,
    /** The ETag the write expected; undefined when it expected no object. */
    readonly expectedEtag: string | undefined,
  ) {
    const what = expectedEtag === undefined ? 'it exists now' : `no longer ETag ${expectedEtag}`;
    super(`s3://${bucket}/${key} changed since it was read (${what}): nothing written`);
  }
}

/** The backend does not enforce `If-None-Match: *`: write-once records would silently be overwritten. */
export class WriteOnceNotEnforced extends Error {
  override name = 'WriteOnceNotEnforced';
  readonly retryable = false;
  constructor(where: string, why: string) {
    super(`${where} does not enforce write-once (If-None-Match: *): ${why}; audit records would silently be overwritten, so the promoter refuses this backend`);
  }
}

/** S3 did not answer (down, unreachable, 5xx): worth retrying later. */
export class AuditStoreUnavailable extends Error {
  override name = 'AuditStoreUnavailable';
  readonly retryable = true;
  constructor(what: string, cause: unknown) {
    super(`${what}: audit store unavailable: ${(cause as Error).message || (cause as Error).name}`, { cause });
  }
}

/**
 * No credentials for S3 (the AWS SDK's chain found none): nothing will work until they are set.
 * The SDK's own words ("Could not load credentials from any providers") name no setting.
 */
export class AuditStoreCredentialsMissing extends Error {
  override name = 'AuditStoreCredentialsMissing';
  constructor(where: string, cause: unknown) {
    super(
      `no S3 credentials for the audit bucket ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), ` +
        'and PROMOTER_S3_ENDPOINT for an S3 other than AWS',
      { cause },
    );
  }
}

const credentialsMissing = (err: unknown) =>
  (err as Error)?.name === 'CredentialsProviderError' || /Could not load credentials/i.test((err as Error)?.message ?? '');

const httpStatusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

const NETWORK_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'TimeoutError',
  'RequestTimeout',
  'AbortError',
]);

/** No HTTP answer at all (connection refused, reset, timeout) or a server-side error. */
function isUnavailable(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status !== undefined) return status >= 500;
  const e = err as { code?: unknown; name?: unknown; errors?: unknown[] };
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  const causes = [e, ...(Array.isArray(e.errors) ? e.errors : [])] as { code?: unknown; name?: unknown }[];
  return causes.some((c) => NETWORK_FAILURES.has(String(c.code)) || NETWORK_FAILURES.has(String(c.name)));
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What the phases need of the audit store (AuditStore is the S3 one). */
export interface DocumentStore {
  readonly bucket: string;
  checkBucket(): Promise<void>;
  /** Proves the backend refuses a second conditional write (WriteOnceNotEnforced otherwise). */
  checkWriteOnce(): Promise<void>;
  getJson<T>(key: string, expectSha256?: string): Promise<T>;
  getJsonIfExists<T>(key: string): Promise<T | undefined>;
  readJsonIfExists<T>(key: string): Promise<{ value: T; stored: StoredObject } | undefined>;
  /** Audit records: a key is written once (AuditObjectConflict for a different body). */
  writeOnceJson(key: string, value: unknown): Promise<StoredObject>;
  /** Mutable state (tag records, the latest-bundle pointer). */
  overwriteJson(key: string, value: unknown): Promise<StoredObject>;
  /** A JSON object with its ETag, for a later replaceJsonIfUnchanged; undefined when absent. */
  readJsonVersioned<T>(key: string): Promise<VersionedObject<T> | undefined>;
  /** Replaces `key` only if it still has `etag` (undefined: only if absent); AuditObjectChanged otherwise. */
  replaceJsonIfUnchanged(key: string, value: unknown, etag: string | undefined): Promise<StoredObject & { etag: string }>;
}

export class AuditStore implements DocumentStore {
  private readonly s3: S3Client;

  constructor(
    readonly config: AuditStoreConfig,
    clientOverrides: { maxAttempts?: number } = {},
  ) {
    this.s3 = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      ...clientOverrides,
    });
  }

  /** "promoter-audit" at http://…, for messages. */
  private get where(): string {
    return `"${this.bucket}" at ${this.config.endpoint ?? 'AWS S3'}`;
  }

  /** Runs one S3 call; an unreachable or failing server becomes a retryable AuditStoreUnavailable. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (credentialsMissing(err)) throw new AuditStoreCredentialsMissing(this.where, err);
      if (isUnavailable(err)) throw new AuditStoreUnavailable(what, err);
      throw err;
    }
  }

  get bucket(): string {
    return this.config.bucket;
  }

  /**
   * Resolves the credentials (environment, profile, instance role: the AWS SDK's chain) without a
   * request to S3, so a process can say at start that they are missing.
   */
  async checkCredentials(): Promise<void> {
    try {
      await this.s3.config.credentials();
    } catch (err) {
      throw new AuditStoreCredentialsMissing(this.where, err);
    }
  }

  /** Throws a clear error when the bucket is missing or unreachable. */
  async checkBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (credentialsMissing(err)) throw new AuditStoreCredentialsMissing(this.where, err);
      const status = httpStatusOf(err);
      const where = this.config.endpoint ?? 'AWS S3';
      if (status === 404) throw new Error(`audit bucket "${this.bucket}" does not exist at ${where}`);
      if (status === 403) throw new Error(`audit bucket "${this.bucket}" at ${where}: access denied`);
      if (isUnavailable(err)) throw new AuditStoreUnavailable(`audit bucket "${this.bucket}" at ${where}`, err);
      throw new Error(`audit bucket "${this.bucket}" at ${where} is unreachable: ${(err as Error).message}`);
    }
  }

  /**
   * Writes a probe object twice with `If-None-Match: *`: the second write must be refused (412).
   * A backend that ignores the condition overwrites, and every write-once record would quietly
   * become replaceable. The probe is removed afterwards where the bucket allows deletes.
   */
  async checkWriteOnce(): Promise<void> {
    const key = `probes/write-once/${randomUUID()}`;
    const where = `audit bucket "${this.bucket}" at ${this.config.endpoint ?? 'AWS S3'}`;
    const probe = (body: string) => new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'text/plain', IfNoneMatch: '*' });
    const put = (body: string) => this.call(`write s3://${this.bucket}/${key}`, () => this.s3.send(probe(body)));
    try {
      await put('first');
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 501 || status === 400) throw new WriteOnceNotEnforced(where, `a conditional write was refused as unsupported (HTTP ${status})`);
      throw err;
    }
    try {
      try {
        await put('second');
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 412 || status === 409) return;
        throw err;
      }
      const now = Buffer.from(await this.getBytes(key)).toString('utf8');
      const outcome = now === 'second' ? 'succeeded and replaced it' : 'was accepted';
      throw new WriteOnceNotEnforced(where, `a second conditional write to an existing key ${outcome}`);
    } finally {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
    }
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.checkBucket();
    } catch {
      await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  /**
   * Writes `key` once. Same body already there: a no-op success. Different body there: throws
   * AuditObjectConflict and leaves the stored object untouched. Atomic on the server
   * (`If-None-Match: *`), so two writers racing cannot both win.
   */
  async writeOnce(key: string, body: Uint8Array | string, contentType: string): Promise<StoredObject> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const sha256 = sha256Hex(bytes);
    const stored = { bucket: this.bucket, key, sha256, bytes: bytes.length };
    try {
      await this.call(`write s3://${this.bucket}/${key}`, () =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: bytes,
            ContentType: contentType,
            ChecksumAlgorithm: 'SHA256',
            Metadata: { sha256 },
            IfNoneMatch: '*',
          }),
        ),
      );
      return stored;
    } catch (err) {
      // 412: the key exists. 409: another conditional write to it is in flight; read what won.
      const status = httpStatusOf(err);
      if (status !== 412 && status !== 409) throw err;
    }
    const existing = sha256Hex(await this.getBytes(key));
    if (existing === sha256) return stored;
    throw new AuditObjectConflict(this.bucket, key, existing, sha256);
  }

  writeOnceJson(key: string, value: unknown): Promise<StoredObject> {
    return this.writeOnce(key, JSON.stringify(value), 'application/json');
  }

  /** Replaces whatever `key` holds: only for mutable state (tag records, the latest-bundle pointer). */
  async overwrite(key: string, body: Uint8Array | string, contentType: string): Promise<StoredObject> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const sha256 = sha256Hex(bytes);
    await this.call(`write s3://${this.bucket}/${key}`, () =>
      this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ChecksumAlgorithm: 'SHA256', Metadata: { sha256 } }),
      ),
    );
    return { bucket: this.bucket, key, sha256, bytes: bytes.length };
  }

  overwriteJson(key: string, value: unknown): Promise<StoredObject> {
    return this.overwrite(key, JSON.stringify(value), 'application/json');
  }

  /**
   * Replaces `key` only if it still is what was read: `If-Match: etag`, or with `etag` undefined
   * `If-None-Match: *` (only if nothing is there). Throws AuditObjectChanged when another writer
   * got there first; nothing is written then. Atomic on the server, like writeOnce.
   */
  async replaceIfUnchanged(key: string, body: Uint8Array | string, contentType: string, etag: string | undefined): Promise<StoredObject & { etag: string }> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const sha256 = sha256Hex(bytes);
    const condition = etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag };
    try {
      const put = new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        ChecksumAlgorithm: 'SHA256',
        Metadata: { sha256 },
        ...condition,
      });
      const out = await this.call(`write s3://${this.bucket}/${key}`, () => this.s3.send(put));
      if (!out.ETag) throw new Error(`s3://${this.bucket}/${key}: the write returned no ETag`);
      return { bucket: this.bucket, key, sha256, bytes: bytes.length, etag: out.ETag };
    } catch (err) {
      // 412: the object is not what was read. 409: a conditional write to it is in flight. 404: If-Match on a key deleted meanwhile.
      const status = httpStatusOf(err);
      if (status === 412 || status === 409 || (status === 404 && etag !== undefined)) throw new AuditObjectChanged(this.bucket, key, etag);
      throw err;
    }
  }

  replaceJsonIfUnchanged(key: string, value: unknown, etag: string | undefined): Promise<StoredObject & { etag: string }> {
    return this.replaceIfUnchanged(key, JSON.stringify(value), 'application/json', etag);
  }

  /** @deprecated Unconditional write kept for existing call sites: use writeOnce (audit records) or overwrite (mutable state). */
  putBytes(key: string, body: Uint8Array | string, contentType: string): Promise<StoredObject> {
    return this.overwrite(key, body, contentType);
  }

  /** @deprecated Use writeOnceJson (audit records) or overwriteJson (mutable state). */
  putJson(key: string, value: unknown): Promise<StoredObject> {
    return this.overwriteJson(key, value);
  }

  /**
   * Content-addressed write: the key carries the sha256 of the body, so writing it twice is
   * harmless and readers can verify what they read.
   */
  async putContentAddressed(prefix: string, value: unknown): Promise<StoredObject> {
    const body = JSON.stringify(value);
    return this.writeOnce(`${prefix}/${sha256Hex(body)}.json`, body, 'application/json');
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.call(`read s3://${this.bucket}/${key}`, () => this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return true;
    } catch (err) {
      if (err instanceof NotFound || err instanceof NoSuchKey) return false;
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    return (await this.getBytesVersioned(key)).bytes;
  }

  /** The object's bytes and its ETag (the version a conditional replace names). */
  async getBytesVersioned(key: string): Promise<{ bytes: Uint8Array; etag: string }> {
    return this.call(`read s3://${this.bucket}/${key}`, async () => {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!out.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
      if (!out.ETag) throw new Error(`s3://${this.bucket}/${key}: the read returned no ETag`);
      return { bytes: await out.Body.transformToByteArray(), etag: out.ETag };
    });
  }

  /** Reads JSON; when `expectSha256` is given the bytes must hash to it (claim-check integrity). */
  async getJson<T>(key: string, expectSha256?: string): Promise<T> {
    const bytes = await this.getBytes(key);
    if (expectSha256 && sha256Hex(bytes) !== expectSha256) {
      throw new Error(`s3://${this.bucket}/${key}: content does not match sha256 ${expectSha256}`);
    }
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }

  async getJsonIfExists<T>(key: string): Promise<T | undefined> {
    return (await this.readJsonIfExists<T>(key))?.value;
  }

  /** A JSON object with what identifies it (key, sha256 of its bytes, ETag), or undefined when absent. */
  async readJsonIfExists<T>(key: string): Promise<{ value: T; stored: StoredObject } | undefined> {
    return this.readJsonVersioned<T>(key);
  }

  async readJsonVersioned<T>(key: string): Promise<VersionedObject<T> | undefined> {
    let read: { bytes: Uint8Array; etag: string };
    try {
      read = await this.getBytesVersioned(key);
    } catch (err) {
      if (err instanceof NoSuchKey || httpStatusOf(err) === 404) return undefined;
      throw err;
    }
    const { bytes, etag } = read;
    const stored = { bucket: this.bucket, key, sha256: sha256Hex(bytes), bytes: bytes.length, etag };
    return { value: JSON.parse(Buffer.from(bytes).toString('utf8')) as T, stored };
  }
}

/** Store settings from the environment (worker and client side; credentials come from the AWS SDK chain). */
export function auditStoreConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AuditStoreConfig {
  const endpoint = env.PROMOTER_S3_ENDPOINT || undefined;
  return {
    bucket: env.PROMOTER_S3_BUCKET || 'promoter-audit',
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: endpoint !== undefined,
  };
}
