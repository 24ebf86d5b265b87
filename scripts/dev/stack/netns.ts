// The network namespace the Sigstore services of the dev stack run in.
//
// Why a namespace: Fulcio's and the timestamp authority's Prometheus listeners bind every
// interface (the TSA's is hard-coded to `:2112`, no flag), and Fulcio's legacy gRPC server takes a
// fixed abstract Unix socket (which is per network namespace). Inside their own namespace those
// listeners reach nothing but that namespace, and two checkouts' stacks on one machine do not collide.
//
// How it is held: by a holder process (`unshare --net sleep infinity`, pid file `sigstore-netns`
// like every other stack process); the services join it with `nsenter --net=/proc/PID/ns/net`.
// Not `ip netns add NAME`: a named namespace is a bind mount under /run/netns, and a mount made in
// a shell that itself runs under `ip netns exec` (which gives it a private mount namespace, the way
// stacks are run side by side here) vanishes with that shell, leaving a later `stack down` or
// `status` a dead name. A pid file is found from anywhere on the host. The namespace ends with the
// last process in it, so `stack down` (which stops the services and the holder) removes it and its
// link. Interface names and addresses derive from a hash of the project root: unique per checkout.
//
// Why a veth pair (not a proxy): both directions need plain IP. The promoter, cosign and the tests
// on the host call Fulcio, Rekor and the TSA at the namespace end; Fulcio inside calls the OIDC
// issuer (served by the token server on the host) at the host end. Nothing is forwarded or NATed:
// the pair is a private two-address link between this host and the namespace.
//
// Addresses: a /30 in 198.18.0.0/15 (RFC 2544, reserved for network testing, so unlikely to clash
// with a real network or a container bridge), picked by the same hash, so each checkout keeps its
// own across down/up (the issuer URL, which certificates carry, stays the same).
//
// Needs root; without it the stack runs without the Sigstore services.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readlinkSync } from 'node:fs';
import { stackPaths } from './paths';
import { runningPid, startDetached, stopProcess } from './processes';

const checkoutId = createHash('sha256').update(stackPaths.root).digest('hex').slice(0, 8);

/** Slot of this checkout's /30 within 198.18.0.0/15 (32,768 slots). */
const slot = parseInt(checkoutId.slice(0, 4), 16) % 32_768;
const ipv4 = (offset: number) => {
  const n = ((198 << 24) >>> 0) + (18 << 16) + slot * 4 + offset;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
};

export const sigstoreNetwork = {
  /** Name of the holder process (pid file, log); the namespace itself has no name. */
  holder: 'sigstore-netns',
  /** veth ends (interface names are at most 15 characters). */
  hostInterface: `psg${checkoutId}h`,
  namespaceInterface: `psg${checkoutId}n`,
  /** The host's end: where the OIDC issuer listens for Fulcio. */
  hostAddress: ipv4(1),
  /** The namespace's end: where Fulcio, Rekor and the TSA listen. */
  namespaceAddress: ipv4(2),
  prefixLength: 30,
} as const;

function tool(name: string): string {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => `${d}/${name}`).find((p) => existsSync(p)) ?? name;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(tool(command), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
  }
}

const netnsPath = (pid: number) => `/proc/${pid}/ns/net`;

/** The command prefix that runs a program inside the namespace; nsenter execs it, so the pid is the program's. */
export function inNamespace(): string[] {
  const pid = runningPid(sigstoreNetwork.holder);
  if (pid === undefined) throw new Error('the Sigstore network namespace is not up');
  return [tool('nsenter'), `--net=${netnsPath(pid)}`, '--'];
}

function linkReady(pid: number): boolean {
  const n = sigstoreNetwork;
  try {
    const host = run('ip', ['-o', '-4', 'addr', 'show', 'dev', n.hostInterface]);
    const inside = run('nsenter', [`--net=${netnsPath(pid)}`, '--', tool('ip'), '-o', '-4', 'addr', 'show', 'dev', n.namespaceInterface]);
    return host.includes(` ${n.hostAddress}/`) && inside.includes(` ${n.namespaceAddress}/`);
  } catch {
    return false;
  }
}

function addressTakenElsewhere(): string | undefined {
  const n = sigstoreNetwork;
  return run('ip', ['-o', '-4', 'addr', 'show'])
    .split('\n')
    .find((l) => (l.includes(` ${n.hostAddress}/`) || l.includes(` ${n.namespaceAddress}/`)) && !l.includes(` ${n.hostInterface}`))
    ?.trim();
}

function connect(pid: number): void {
  const n = sigstoreNetwork;
  // A stale host end (a holder that died, an interrupted `up`) is rebuilt from scratch.
  try {
    run('ip', ['link', 'del', n.hostInterface]);
  } catch {
    // not there
  }
  const clash = addressTakenElsewhere();
  if (clash) throw new Error(`the Sigstore link ${n.hostAddress}/${n.prefixLength} is already in use on this host (${clash})`);
  run('ip', ['link', 'add', n.hostInterface, 'type', 'veth', 'peer', 'name', n.namespaceInterface, 'netns', String(pid)]);
  run('ip', ['addr', 'add', `${n.hostAddress}/${n.prefixLength}`, 'dev', n.hostInterface]);
  run('ip', ['link', 'set', n.hostInterface, 'up']);
  const inside = (args: string[]) => run('nsenter', [`--net=${netnsPath(pid)}`, '--', tool('ip'), ...args]);
  inside(['addr', 'add', `${n.namespaceAddress}/${n.prefixLength}`, 'dev', n.namespaceInterface]);
  inside(['link', 'set', n.namespaceInterface, 'up']);
  inside(['link', 'set', 'lo', 'up']);
}

/** Waits (briefly, synchronously) until the freshly started holder has entered its new namespace. */
function awaitOwnNamespace(pid: number): void {
  const ours = readlinkSync(netnsPath(process.pid));
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 250; i++) {
    try {
      if (readlinkSync(netnsPath(pid)) !== ours) return;
    } catch {
      // not readable yet
    }
    Atomics.wait(pause, 0, 0, 20);
  }
  throw new Error(`the Sigstore network namespace holder (pid ${pid}) did not start`);
}

/**
 * Makes sure the namespace and its link exist (idempotent; synchronous, so the services' specs,
 * built one after another in one process, cannot race). Throws with the failing command.
 */
export function ensureSigstoreNetwork(): void {
  let pid = runningPid(sigstoreNetwork.holder);
  if (pid !== undefined && linkReady(pid)) return;
  if (pid === undefined) {
    pid = startDetached({ name: sigstoreNetwork.holder, launcher: [tool('unshare'), '--net', '--'], command: tool('sleep'), args: ['infinity'] });
    awaitOwnNamespace(pid);
  }
  connect(pid);
}

/** Stops the holder; the namespace and its link go once the services in it have stopped too. */
export async function removeSigstoreNetwork(): Promise<boolean> {
  return stopProcess(sigstoreNetwork.holder, 2_000);
}
