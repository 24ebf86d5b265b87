// An S3 server of a test's own (versitygw, the same flags as the stack's) that the test may stop
// and start again, on its own port and folder, without touching the stack's S3 that other test
// files use at the same time.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPaths } from '../../scripts/dev/stack';
import { freePort } from '../../scripts/dev/stack/probes';
import { ensureBucket, s3Answers, versitygwSpec } from '../../scripts/dev/stack/s3';
import { stopProcess, waitServing } from './child-process';

export class OwnS3 {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly bucket: string,
    private readonly command: string,
  ) {}

  static async start(bucket: string): Promise<OwnS3> {
    const command = toolPaths().versitygw;
    if (!command) throw new Error('versitygw not found; run: bash scripts/setup.sh');
    const s3 = new OwnS3(await freePort(), await mkdtemp(join(tmpdir(), 'promoter-s3-')), bucket, command);
    await s3.up();
    await ensureBucket(s3.port, bucket);
    return s3;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What a worker or the CLI needs to use this server instead of the stack's. */
  get env(): Record<string, string> {
    return { PROMOTER_S3_ENDPOINT: this.endpoint, PROMOTER_S3_BUCKET: this.bucket };
  }

  async up(): Promise<void> {
    const spec = versitygwSpec({ name: 'own-s3', command: this.command, port: this.port, dir: this.dir });
    this.child = spawn(spec.command, spec.args, { env: { ...process.env, ...spec.env }, stdio: 'ignore' });
    await waitServing(this.child, () => s3Answers(this.port), 'versitygw');
  }

  async down(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    await stopProcess(c);
  }

  async remove(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }
}
