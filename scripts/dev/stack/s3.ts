// The S3 server of the dev stack: versitygw serving a plain folder (its posix backend), so the
// audit archive lives on disk under .stack/s3 and survives `stack down` / `stack up` like a real
// bucket would. The root credentials travel in the environment, never on the command line.
import { mkdirSync } from 'node:fs';
import { httpStatus } from './probes';
import type { ProcessSpec } from './processes';
import { HOST, S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY } from './topology';

export interface VersitygwOptions {
  name: string;
  command: string;
  port: number;
  /** Top folder: every sub-folder is a bucket, every file below it an object. */
  dir: string;
}

export function versitygwSpec(opts: VersitygwOptions): ProcessSpec {
  mkdirSync(opts.dir, { recursive: true });
  return {
    name: opts.name,
    command: opts.command,
    // --quiet: no line per request (benchmarks write many objects).
    args: ['--port', `${HOST}:${opts.port}`, '--region', S3_REGION, '--quiet', 'posix', opts.dir],
    env: { ROOT_ACCESS_KEY: S3_ACCESS_KEY, ROOT_SECRET_KEY: S3_SECRET_KEY },
  };
}

/** Any HTTP answer (an unsigned GET is refused with 403) means the gateway serves. */
export async function s3Answers(port: number): Promise<boolean> {
  return (await httpStatus(`http://${HOST}:${port}/`)) !== undefined;
}

/** Creates `bucket` when it is missing (idempotent). */
export async function ensureBucket(port: number, bucket: string): Promise<void> {
  const { S3Client, HeadBucketCommand, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: `http://${HOST}:${port}`,
    region: S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw err;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
