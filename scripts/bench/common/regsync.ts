// The peer: regsync (regclient, built into .tools/bin by scripts/setup.sh) making the same copies
// from the same manifests, with `parallel: 8`, into its own repositories of the same registries
// (`<host>/<prefix>/regsync/...`); then, in the k8s shape, copying the promoter's signatures from
// its primary destination to regsync's mirrors (digestTags and referrers), the way a
// regsync-based promoter would spread signatures.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { cpuSecondsOf } from '../../dev/proc';
import { peerDestination, type Workload } from './workload';

export const REGSYNC_PARALLEL = 8;

interface SyncEntry {
  source: string;
  target: string;
  type: 'image';
  digestTags?: boolean;
  referrers?: boolean;
}

function config(hosts: string[], sync: SyncEntry[]): string {
  return stringify({
    version: 1,
    creds: hosts.map((registry) => ({ registry, tls: 'disabled' })),
    defaults: { parallel: REGSYNC_PARALLEL },
    sync,
  });
}

/** One entry per edge: the staging digest to `<host>/<prefix>/regsync/.../<image>:<tag>`. */
export function copyConfig(w: Workload, hosts: string[]): { yaml: string; entries: number } {
  const sync: SyncEntry[] = [];
  const seen = new Set<string>();
  for (const p of w.projects) {
    for (const img of p.images) {
      for (const [digest, tags] of img.dmap) {
        for (const dest of p.destinations.map((d) => peerDestination(w.prefix, d, 'regsync'))) {
          for (const tag of tags) {
            const target = `${dest}/${img.name}:${tag}`;
            if (seen.has(target)) continue; // a destination listed twice in a manifest
            seen.add(target);
            sync.push({ source: `${p.source}/${img.name}@${digest}`, target, type: 'image' });
          }
        }
      }
    }
  }
  return { yaml: config(hosts, sync), entries: sync.length };
}

/**
 * One entry per image digest and mirror: from the promoter's primary (which holds the signatures,
 * attestations and referrers Sign and Attest wrote) to regsync's copy on that mirror.
 */
export function signatureConfig(w: Workload, hosts: string[]): { yaml: string; entries: number } {
  const sync: SyncEntry[] = [];
  const seen = new Set<string>();
  for (const p of w.projects) {
    const primary = p.destinations[0]!;
    const ours = p.destinations.map((d) => peerDestination(w.prefix, d, 'regsync'));
    for (const img of p.images) {
      for (const [digest, tags] of img.dmap) {
        for (const mirror of ours.slice(1)) {
          const target = `${mirror}/${img.name}:${tags[0]}`;
          if (seen.has(target) || mirror === ours[0]) continue;
          seen.add(target);
          sync.push({ source: `${primary}/${img.name}@${digest}`, target, type: 'image', digestTags: true, referrers: true });
        }
      }
    }
  }
  return { yaml: config(hosts, sync), entries: sync.length };
}

export interface RegsyncRun {
  entries: number;
  exitCode: number;
  wallMs: number;
  cpuSeconds: number;
  /** Lines regsync logged at level error (its failed copies). */
  errors: number;
  firstErrors: string[];
  timedOut: boolean;
}

/** `regsync once -c FILE`, with a deadline. */
export async function runRegsync(regsync: string, configFile: string, yaml: string, entries: number, logFile: string, deadlineMs: number): Promise<RegsyncRun> {
  await writeFile(configFile, yaml);
  const started = performance.now();
  const child = spawn(regsync, ['once', '-c', configFile, '-v', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  let errors = 0;
  const firstErrors: string[] = [];
  let pending = '';
  const scan = (d: Buffer): void => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) {
      if (/level=ERROR|"level":"ERROR"|\bERRO\b/i.test(l)) {
        errors++;
        if (firstErrors.length < 5) firstErrors.push(l.slice(0, 400));
      }
    }
  };
  child.stdout.on('data', scan);
  child.stderr.on('data', scan);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      child.kill('SIGTERM');
    },
    Math.max(1, deadlineMs),
  );
  let cpu = 0;
  const cpuTimer = setInterval(() => (cpu = cpuSecondsOf(child.pid) || cpu), 500);
  const exitCode = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      firstErrors.push(`cannot run ${regsync}: ${err.message}`);
      errors++;
    });
    child.once('close', (code) => resolve(code ?? -1));
  });
  clearTimeout(timer);
  clearInterval(cpuTimer);
  return { entries, exitCode, wallMs: performance.now() - started, cpuSeconds: cpu, errors, firstErrors, timedOut };
}
