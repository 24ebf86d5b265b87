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
 */
export interface AuditStoreConfig {
  bucket: string;
  /** Custom endpoint (moto, MinIO...). Unset means AWS. */
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

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class AuditStore {
  private readonly s3: S3Client;

  constructor(readonly config: AuditStoreConfig) {
    this.s3 = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
    });
  }

  get bucket(): string {
    return this.config.bucket;
  }

  /** Throws a clear error when the bucket is missing or unreachable. */
  async checkBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const where = this.config.endpoint ?? 'AWS S3';
      if (status === 404) throw new Error(`audit bucket "${this.bucket}" does not exist at ${where}`);
      if (status === 403) throw new Error(`audit bucket "${this.bucket}" at ${where}: access denied`);
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

  async putBytes(key: string, body: Uint8Array | string, contentType: string): Promise<StoredObject> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const sha256 = sha256Hex(bytes);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        ChecksumAlgorithm: 'SHA256',
        Metadata: { sha256 },
      }),
    );
    return { bucket: this.bucket, key, sha256, bytes: bytes.length };
  }

  putJson(key: string, value: unknown): Promise<StoredObject> {
    return this.putBytes(key, JSON.stringify(value), 'application/json');
  }

  /**
   * Content-addressed write: the key carries the sha256 of the body, so writing it twice is
   * harmless and readers can verify what they read.
   */
  async putContentAddressed(prefix: string, value: unknown): Promise<StoredObject> {
    const body = JSON.stringify(value);
    const key = `${prefix}/${sha256Hex(body)}.json`;
    if (await this.exists(key)) return { bucket: this.bucket, key, sha256: sha256Hex(body), bytes: Buffer.byteLength(body) };
    return this.putBytes(key, body, 'application/json');
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (err instanceof NotFound || err instanceof NoSuchKey) return false;
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!out.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return out.Body.transformToByteArray();
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
    try {
      return await this.getJson<T>(key);
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
        return undefined;
      }
      throw err;
    }
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
