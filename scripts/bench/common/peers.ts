// The tools the benches measure the promoter against must run before any work starts: a missing
// peer found after a half-hour promotion leaves a bench without its ratio.
import { toolPaths } from '../../dev/stack';
import { runProcess } from '../../dev/run-process';

export interface PeerTools {
  regsync?: { bin: string; version: string };
  skopeo?: { bin: string; version: string };
}

export class PeerMissing extends Error {}

async function probe(name: string, bin: string | undefined, args: string[], skipFlag: string): Promise<{ bin: string; version: string }> {
  const how = `install it with \`bash scripts/setup.sh\`, or pass ${skipFlag}`;
  if (!bin) throw new PeerMissing(`${name} not found (neither .tools/bin/${name} nor on PATH): ${how}`);
  let r;
  try {
    r = await runProcess(bin, args, {}, 30_000);
  } catch (err) {
    throw new PeerMissing(`cannot run ${bin}: ${(err as Error).message}; ${how}`);
  }
  if (r.code !== 0) throw new PeerMissing(`${bin} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-300)}; ${how}`);
  return { bin, version: r.stdout.trim().split('\n')[0]!.replace(/\s+/g, ' ').trim() };
}

/** Each peer the run needs, with its version; throws PeerMissing naming the first that cannot run. */
export async function checkPeers(need: { regsync: boolean; skopeo: boolean }, tools: { regsync?: string; skopeo?: string } = toolPaths()): Promise<PeerTools> {
  const out: PeerTools = {};
  if (need.regsync) out.regsync = await probe('regsync', tools.regsync, ['version'], '--skip-regsync');
  if (need.skopeo) out.skopeo = await probe('skopeo', tools.skopeo, ['--version'], '--skip-skopeo');
  return out;
}
