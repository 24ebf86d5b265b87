// The nightly repair case: take away the signatures of 1% of the digests on one mirror (the
// `.sig` manifests, the referrers fallback index and the referrer manifests it lists), then check
// that `promoter mirror-signatures` put back exactly what the primary holds, and let the real
// cosign verify a sample there.
import { signatureTag, referrersFallbackTag } from '../../../lib/signing';
import type { RegistryClient } from '../../../lib/oci';
import { repoFor } from '../../../lib/run/plan';
import type { RepositoryRef } from '../../../lib/oci';
import { runProcess } from '../../dev/run-process';
import type { BenchImage, BenchProject } from '../common/workload';

export interface DamagedImage {
  primary: RepositoryRef;
  mirror: RepositoryRef;
  digest: string;
  /** The index's children, then the digest itself: every manifest Sign signed. */
  manifests: string[];
}

/** Every `fraction`-th image digest of the projects that have a mirror at `mirrorIndex`, at least one. */
export function pickDamage(projects: BenchProject[], images: ReadonlyMap<string, BenchImage>, mirrorIndex: number, fraction: number): DamagedImage[] {
  const all: DamagedImage[] = [];
  for (const p of projects) {
    const mirror = p.destinations[mirrorIndex];
    if (!mirror || mirror === p.destinations[0]) continue;
    for (const img of p.images) {
      for (const [digest] of img.dmap) {
        all.push({
          primary: repoFor(p.destinations[0]!, img.name),
          mirror: repoFor(mirror, img.name),
          digest,
          manifests: [...images.get(digest)!.children, digest],
        });
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
      const body = JSON.parse(Buffer.from((await client.getManifest({ ...d.mirror, digest: index.digest })).bytes).toString('utf8')) as {
        manifests?: { digest: string }[];
      };
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

async function cosign(bin: string, args: string[], env: Record<string, string>): Promise<CosignCheck> {
  const command = `cosign ${args.join(' ')}`;
  try {
    const r = await runProcess(bin, args, { ...env, COSIGN_YES: 'true' }, 120_000);
    return { command, ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim().slice(-600) };
  } catch (err) {
    return { command, ok: false, output: (err as Error).message };
  }
}

/** Both signature formats and the promotion attestation of up to `sample` repaired images, on the mirror. */
export async function cosignVerifySample(
  bin: string,
  publicKey: string,
  damaged: DamagedImage[],
  sample: number,
  env: Record<string, string>,
): Promise<CosignCheck[]> {
  const out: CosignCheck[] = [];
  for (const d of damaged.slice(0, sample)) {
    const ref = `${d.mirror.host}/${d.mirror.repository}@${d.digest}`;
    out.push(await cosign(bin, ['verify', '--key', publicKey, ...COSIGN_VERIFY_OFFLINE, ref], env));
    out.push(await cosign(bin, ['verify', '--key', publicKey, '--new-bundle-format=false', ...COSIGN_VERIFY_OFFLINE, ref], env));
    out.push(
      await cosign(bin, ['verify-attestation', '--key', publicKey, '--type', 'https://promoter.k8s.io/promotion/v1', ...COSIGN_VERIFY_OFFLINE, ref], env),
    );
  }
  return out;
}
