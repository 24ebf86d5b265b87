/** Setup: check options, the audit bucket, every registry (reachable, credentials accepted) and the trust material. */
import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { disallowedRegistries, formatFinding, type ManifestBundle } from '../../lib/manifests';
import { AllowedHosts, isOciError } from '../../lib/oci';
import { repoFor } from '../../lib/run/plan';
import type { PromotionInput } from '../../lib/run/input';
import { mapPool } from '../../lib/util/pool';
import type { ActivityDeps } from '../shared/deps';
import type { Heartbeat } from '../shared/heartbeat';
import { loadBundle } from '../shared/documents';

const RunOptionsSchema = z
  .object({
    batchSize: z.number().int().min(1).max(10_000),
    parallelBatches: z.number().int().min(1).max(64),
    batchesPerWorkflow: z.number().int().min(1).max(2_000),
    verifyTags: z.boolean().optional(),
  })
  .strict();

export interface SetupResult {
  registries: string[];
  projects: number;
}

export function createSetup(deps: ActivityDeps) {
  return async function setup(_hb: Heartbeat, input: PromotionInput): Promise<SetupResult> {
    const opts = RunOptionsSchema.safeParse(input.options);
    if (!opts.success) {
      throw ApplicationFailure.nonRetryable(
        `invalid run options: ${opts.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        'InvalidInput',
      );
    }
    await deps.store.checkBucket();
    // A backend that ignores If-None-Match would turn every write-once record into an overwrite.
    await deps.store.checkWriteOnce().catch((err: Error & { retryable?: boolean }) => {
      throw err.retryable === false ? ApplicationFailure.nonRetryable(err.message, err.name) : err;
    });
    const bundle = await loadBundle(deps.store, input);
    // The operator decides which hosts the worker speaks to: a manifest naming another is refused before any request.
    const refused = disallowedRegistries(bundle.projects, (h) => new AllowedHosts(deps.config.allowedRegistries).refusal(h));
    if (refused.length > 0) throw ApplicationFailure.nonRetryable(`registries not allowed: ${refused.map(formatFinding).join('; ')}`, 'RegistryNotAllowed');
    const hosts = registryHosts(bundle);
    const failures: string[] = [];
    let certificateRefused = false;
    await mapPool(hosts, 8, async (host) => {
      try {
        await deps.registry.ping(host);
      } catch (err) {
        if (isOciError(err, 'TLS')) certificateRefused = true;
        failures.push(`${host}: ${(err as Error).message}`);
      }
    });
    if (failures.length > 0) {
      // Denied credentials and refused certificates will not fix themselves; an unreachable registry might.
      const permanent = certificateRefused || failures.some((f) => /denied|unauthori[sz]ed|401|403|certificate|TLS/i.test(f));
      const message = `registry check failed: ${failures.sort().join('; ')}`;
      if (permanent) throw ApplicationFailure.nonRetryable(message, 'RegistryAccess');
      throw ApplicationFailure.retryable(message, 'RegistryUnavailable');
    }
    await deps.trust.check(bundle, input.confirm);
    deps.log.info({ registries: hosts.length, projects: bundle.projects.length }, 'setup done');
    return { registries: hosts, projects: bundle.projects.length };
  };
}

function registryHosts(bundle: ManifestBundle): string[] {
  const hosts = new Set<string>();
  for (const p of bundle.projects) {
    hosts.add(repoFor(p.source, 'x').host);
    for (const d of p.destinations) hosts.add(repoFor(d, 'x').host);
  }
  return [...hosts].sort();
}
