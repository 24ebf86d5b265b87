// The bench's own registries: one staging and N destination hosts, each a Debian docker-registry
// (CNCF distribution 2.8, like the dev stack's) on a free loopback port, plain HTTP, anonymous,
// with its request log piped into this process (AccessLog). Optionally a delay proxy in front of
// each, so that the tools see a real registry's round trip instead of loopback's.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { toolPaths } from '../../dev/stack';
import { freePort } from '../../dev/stack/probes';
import { cpuSecondsOf } from '../../dev/proc';
import { isRequestLine, type AccessLog } from './access-log';
import { DelayProxy } from './delay-proxy';

interface BenchRegistry {
  /** "staging", "dest-1", ... */
  name: string;
  /** host:port the registry itself listens on (markers go here, never through the proxy). */
  direct: string;
  /** host:port the tools use: the delay proxy when there is one, else `direct`. */
  address: string;
  process: ChildProcess;
  proxy?: DelayProxy;
}

export interface BenchRegistries {
  staging: BenchRegistry;
  destinations: BenchRegistry[];
  all: BenchRegistry[];
  /** Make every registry log a marker and wait until each has: rows read after it belong to `step`. */
  mark(step: number): Promise<void>;
  /** CPU seconds (user + system) of the registry processes so far. */
  cpuSeconds(): Record<string, number>;
  stop(): Promise<void>;
}

/** `rm -rf`: registry storage is hundreds of thousands of small files, which Node's fs.rm removes slowly. */
export function removeTree(dir: string): Promise<void> {
  return new Promise((resolve, reject) => execFile('rm', ['-rf', '--', dir], (err: Error | null) => (err ? reject(err) : resolve())));
}

async function waitUp(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`registry exited with ${child.exitCode} before answering ${url}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`registry at ${url} did not answer in ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts them, with a delay proxy in front of each when the log says requests are delayed (`log.delayMs`). */
export async function startBenchRegistries(opts: { dir: string; hosts: number; log: AccessLog }): Promise<BenchRegistries> {
  const registry = toolPaths().registry;
  if (!registry) throw new Error('docker-registry not found (apt-get install docker-registry, or bash scripts/setup.sh)');
  await removeTree(opts.dir);
  mkdirSync(opts.dir, { recursive: true });
  const names = ['staging', ...Array.from({ length: opts.hosts }, (_, i) => `dest-${i + 1}`)];
  const started: BenchRegistry[] = [];
  try {
    for (const name of names) {
      const port = await freePort();
      const storage = join(opts.dir, name);
      mkdirSync(storage, { recursive: true });
      const config = {
        version: 0.1,
        // One JSON line per request on stderr, with its duration (parsed here); the combined access log
        // (no durations) off. Lines that are not requests go to a file.
        log: { level: 'info', formatter: 'json', accesslog: { disabled: true } },
        storage: {
          filesystem: { rootdirectory: storage },
          delete: { enabled: true },
          cache: { blobdescriptor: 'inmemory' },
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: { addr: `127.0.0.1:${port}`, secret: `bench-${name}` },
      };
      const file = join(opts.dir, `${name}.yml`);
      writeFileSync(file, stringify(config));
      const child = spawn(registry, ['serve', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      const other = createWriteStream(join(opts.dir, `${name}.log`));
      const direct = `127.0.0.1:${port}`;
      const lines = createInterface({ input: child.stderr });
      lines.on('line', (line) => (isRequestLine(line) ? opts.log.add(name, line) : other.write(`${line}\n`)));
      child.once('close', () => other.end());
      const r: BenchRegistry = { name, direct, address: direct, process: child };
      started.push(r);
      await waitUp(`http://${direct}/v2/`, child, 30_000);
      if (opts.log.delayMs > 0) {
        r.proxy = await DelayProxy.start(direct, opts.log.delayMs);
        r.address = r.proxy.host;
      }
    }
  } catch (err) {
    for (const r of started) r.process.kill('SIGTERM');
    throw err;
  }
  const [staging, ...destinations] = started as [BenchRegistry, ...BenchRegistry[]];
  return {
    staging,
    destinations,
    all: started,
    async mark(step: number) {
      await Promise.all(
        started.map(async (r) => {
          const seen = opts.log.markerSeen(r.name, step);
          const res = await fetch(`http://${r.direct}/v2/?bench-step=${step}`);
          await res.arrayBuffer();
          await seen;
        }),
      );
    },
    cpuSeconds: () => Object.fromEntries(started.map((r) => [r.name, cpuSecondsOf(r.process.pid)])),
    async stop() {
      await Promise.all(
        started.map(async (r) => {
          await r.proxy?.stop();
          if (r.process.exitCode !== null) return;
          const exited = new Promise<void>((resolve) => r.process.once('exit', () => resolve()));
          r.process.kill('SIGTERM');
          await exited;
        }),
      );
    },
  };
}
