// The nightly repair case: take away the signatures of 1% of the digests on one mirror (the
// `.sig` manifests, the referrers fallback index and the referrer manifests it lists), then check
// that `promoter mirror-signatures` put back exactly what the primary holds, and let the real
// cosign verify a sample there.
import { spawn } from 'node:child_process';
import { signatureTag, referrersFallbackTag } from '../../../lib/signing';
import type { RegistryClient } from '../../../lib/oci';
import { repoFor } from '../../../lib/run/plan';
import type { RepositoryRef } from '../../../lib/oci';
import type { ShapeImage, ShapeProject } from './workload';

export interface DamagedImage {
  primary: RepositoryRef;
  mirror: RepositoryRef;
  digest: string;
  /** The index's children, then the digest itself: every manifest Sign signed. */
  manifests: string[];
}

/** Every `fraction`-th image digest of the projects that have a mirror at `mirrorIndex`, at least one. */
export function pickDamage(projects: ShapeProject[], images: ReadonlyMap<string, ShapeImage>, mirrorIndex: number, fraction: number): DamagedImage[] {
  const all: DamagedImage[] = [];
  for (const p of projects) {
    const mirror = p.destinations[mirrorIndex];
    if (!mirror || mirror === p.destinations[0]) continue;
    for (const img of p.images) {
      for (const [digest] of img.dmap) {
        all.push({ primary: repoFor(p.destinations[0]!, img.name), mirror: repoFor(mirror, img.name), digest, manifests: [...images.get(digest)!.children, digest] });
      }
    }
  }
  const want = Math.max(1, Math.round(all.length * fraction));
  const step = all.length / want;
  return Array.from({ length: want }, (_, i) => all[Math.floor(i * step)]!);
}

/** Deletes the signatures of each picked image on its mirror; returns how many manifests went. */
export async function deleteSignatures(client: RegistryClient, damaged: DamagedImage[]): Promise<number> {
  let deleted = 0;
  const del = async (ref: RepositoryRef, digest: string): Promise<void> => {
    if (await client.deleteManifest({ ...ref, digest })) deleted++;
  };
  for (const d of damaged) {
    for (const m of d.manifests) {
      const sig = await client.headManifest({ ...d.mirror, tag: signatureTag(m) });
      if (sig) await del(d.mirror, sig.digest);
      const fallbackTag = referrersFallbackTag(m);
      const index = await client.headManifest({ ...d.mirror, tag: fallbackTag });
      if (!index) continue;
      const body = JSON.parse(Buffer.from((await client.getManifest({ ...d.mirror, digest: index.digest })).bytes).toString('utf8')) as { manifests?: { digest: string }[] };
      for (const r of body.manifests ?? []) await del(d.mirror, r.digest);
      await del(d.mirror, index.digest);
    }
  }
  return deleted;
}

export interface RepairCheck {
  manifests: number;
  repaired: number;
  missing: string[];
}

/** After the repair: the mirror's `.sig` and fallback index of every manifest are the primary's. */
export async function checkRepaired(client: RegistryClient, damaged: DamagedImage[]): Promise<RepairCheck> {
  const out: RepairCheck = { manifests: 0, repaired: 0, missing: [] };
  for (const d of damaged) {
    for (const m of d.manifests) {
      out.manifests++;
      let ok = true;
      for (const tag of [signatureTag(m), referrersFallbackTag(m)]) {
        const [want, got] = await Promise.all([client.headManifest({ ...d.primary, tag }), client.headManifest({ ...d.mirror, tag })]);
        if (!want || want.digest !== got?.digest) ok = false;
      }
      if (ok) out.repaired++;
      else if (out.missing.length < 10) out.missing.push(`${d.mirror.host}/${d.mirror.repository}@${m}`);
    }
  }
  return out;
}

export interface CosignCheck {
  command: string;
  ok: boolean;
  output: string;
}

/** Flags that make cosign v3 verify offline against a plain-HTTP registry with a key (as in the tests). */
const COSIGN_VERIFY_OFFLINE = ['--insecure-ignore-tlog=true', '--allow-http-registry'];

function cosign(bin: string, args: string[], env: Record<string, string>): Promise<CosignCheck> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env, COSIGN_YES: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ command: `cosign ${args.join(' ')}`, ok: code === 0, output: output.trim().slice(-600) });
    });
  });
}

/** Both signature formats and the promotion attestation of up to `sample` repaired images, on the mirror. */
export async function cosignVerifySample(bin: string, publicKey: string, damaged: DamagedImage[], sample: number, env: Record<string, string>): Promise<CosignCheck[]> {
  const out: CosignCheck[] = [];
  for (const d of damaged.slice(0, sample)) {
    const ref = `${d.mirror.host}/${d.mirror.repository}@${d.digest}`;
    out.push(await cosign(bin, ['verify', '--key', publicKey, ...COSIGN_VERIFY_OFFLINE, ref], env));
    out.push(await cosign(bin, ['verify', '--key', publicKey, '--new-bundle-format=false', ...COSIGN_VERIFY_OFFLINE, ref], env));
    out.push(await cosign(bin, ['verify-attestation', '--key', publicKey, '--type', 'https://promoter.k8s.io/promotion/v1', ...COSIGN_VERIFY_OFFLINE, ref], env));
  }
  return out;
}
