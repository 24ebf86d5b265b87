/**
 * What is known of each destination repository before anything is written there: the signature
 * tags its tags/list showed, the promoter's tag record of what it signed there, and whether its
 * registry serves the referrers API. Sign, Attest and the nightly re-mirroring decide from this
 * where an image still needs its signatures, without a request per digest.
 */
import type { Plan } from '../../lib/run/plan-format';
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import { referrersFallbackTag, signatureTag, type SignatureFormat } from '../../lib/signing';
import { mapPool } from '../../lib/util/pool';
import type { ActivityDeps } from './deps';
import type { InPlaceImage } from './images';

/** What is known of a destination repository before writing to it. */
export interface RepoKnowledge {
  /** Tags its tags/list showed (the `sha256-…` ones matter here). */
  listed: ReadonlySet<string>;
  /** The tag record: digest -> mark of the signature the promoter wrote or verified there. */
  signed: Readonly<Record<string, string>>;
  /** Its registry serves the referrers API: bundles need no fallback tag. */
  api: boolean;
}

/**
 * The signer's signatures of `digest` are in the repository: the record says the promoter put them
 * there, and the tags they live under are still listed (nobody deleted them). For an index this also
 * vouches for its children: they are always written before it.
 */
export function signedThere(k: RepoKnowledge, digest: string, mark: string, format: SignatureFormat): boolean {
  if (k.signed[digest] !== mark) return false;
  if (format !== 'bundle' && !k.listed.has(signatureTag(digest))) return false;
  if (format !== 'legacy' && !k.api && !k.listed.has(referrersFallbackTag(digest))) return false;
  return true;
}

/** What the Plan saw at each destination: signature tags listed, the tag record, referrers API or not. */
export async function planKnowledge(deps: ActivityDeps, plan: Plan, images: InPlaceImage[], needApi: boolean): Promise<(repo: RepositoryRef) => RepoKnowledge> {
  const apiHosts = needApi ? await referrersApiHosts(deps, images) : new Set<string>();
  const listed = new Map(Object.entries(plan.signatureTags ?? {}).map(([repo, tags]) => [repo, new Set(tags)]));
  // Fallback tags Promote wrote after the Plan listed the repository (the source's referrers).
  for (const img of images) {
    for (const d of img.destinations) {
      if (!d.fallbackTag) continue;
      const key = repositoryKey(d.ref);
      listed.set(key, new Set([...(listed.get(key) ?? []), d.fallbackTag]));
    }
  }
  const none = new Set<string>();
  return (repo) => ({
    listed: listed.get(repositoryKey(repo)) ?? none,
    signed: plan.signedByPromoter?.[repositoryKey(repo)] ?? {},
    api: apiHosts.has(repo.host),
  });
}

/** Destination hosts that serve the referrers API (one probe per host and worker). */
export async function referrersApiHosts(deps: ActivityDeps, images: InPlaceImage[]): Promise<Set<string>> {
  return referrersApiHostsOf(
    deps,
    images.flatMap((img) => img.destinations.map((d) => d.ref)),
  );
}

/** The same, for any repositories. */
export async function referrersApiHostsOf(deps: ActivityDeps, repos: RepositoryRef[]): Promise<Set<string>> {
  const byHost = new Map<string, RepositoryRef>();
  for (const ref of repos) if (!byHost.has(ref.host)) byHost.set(ref.host, ref);
  const withApi = new Set<string>();
  await mapPool([...byHost.values()], 8, async (repo) => {
    if (await deps.registry.servesReferrersApi(repo)) withApi.add(repo.host);
  });
  return withApi;
}
