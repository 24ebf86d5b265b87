import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
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

const NETWORK_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout', 'AbortError']);

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
  getJson<T>(key: string, expectSha256?: string): Promise<T>;
  getJsonIfExists<T>(key: string): Promise<T | undefined>;
  readJsonIfExists<T>(key: string): Promise<{ value: T; stored: StoredObject } | undefined>;
  /** Audit records: a key is written once (AuditObjectConflict for a different body). */
  writeOnceJson(key: string, value: unknown): Promise<StoredObject>;
  /** Mutable state (tag records, the latest-bundle pointer). */
  overwriteJson(key: string, value: unknown): Promise<StoredObject>;
}

export class AuditStore implements DocumentStore {
  private readonly s3: S3Client;

  constructor(readonly config: AuditStoreConfig, clientOverrides: { maxAttempts?: number } = {}) {
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
      await this.call(`write s3://${this.bucket}/${key}`, () => this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ChecksumAlgorithm: 'SHA256', Metadata: { sha256 }, IfNoneMatch: '*' }),
      ));
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
    await this.call(`write s3://${this.bucket}/${key}`, () => this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ChecksumAlgorithm: 'SHA256', Metadata: { sha256 } }),
    ));
    return { bucket: this.bucket, key, sha256, bytes: bytes.length };
  }

  overwriteJson(key: string, value: unknown): Promise<StoredObject> {
    return this.overwrite(key, JSON.stringify(value), 'application/json');
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
    return this.call(`read s3://${this.bucket}/${key}`, async () => {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!out.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
      return out.Body.transformToByteArray();
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

  /** A JSON object with what identifies it (key, sha256 of its bytes), or undefined when absent. */
  async readJsonIfExists<T>(key: string): Promise<{ value: T; stored: StoredObject } | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.getBytes(key);
    } catch (err) {
      if (err instanceof NoSuchKey || httpStatusOf(err) === 404) return undefined;
      throw err;
    }
    return { value: JSON.parse(Buffer.from(bytes).toString('utf8')) as T, stored: { bucket: this.bucket, key, sha256: sha256Hex(bytes), bytes: bytes.length } };
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
