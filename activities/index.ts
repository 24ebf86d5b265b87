/**
 * The activities, one file per phase. `createActivities` closes over the worker's shared
 * dependencies (and gives each set of activities its own document cache and trust material);
 * the workflows only ever see the `Activities` type.
 */
import type { ActivityDeps, WorkerDeps } from './shared/deps';
import { keepBeating } from './shared/heartbeat';
import { RunDocuments } from './shared/documents';
import { NO_METRICS } from './shared/metrics';
import { TrustMaterial } from './shared/trust';
import { createSetup } from './phases/setup';
import { createPlan } from './phases/plan';
import { createProvenance } from './phases/provenance';
import { createValidate } from './phases/validate';
import { createPromote } from './phases/promote';
import { createSign } from './phases/sign';
import { createAttest } from './phases/attest';
import { createReport } from './phases/report';
import { createMirror } from './phases/mirror';

export function createActivities(worker: WorkerDeps) {
  const deps: ActivityDeps = {
    ...worker,
    metrics: worker.metrics ?? NO_METRICS,
    requestsSent: worker.requestsSent ?? (() => 0),
    documents: new RunDocuments(worker.store),
    trust: new TrustMaterial(worker.config.signing),
  };
  return {
    setup: keepBeating(createSetup(deps)),
    plan: keepBeating(createPlan(deps)),
    provenance: keepBeating(createProvenance(deps)),
    validate: keepBeating(createValidate(deps)),
    promoteBatch: keepBeating(createPromote(deps)),
    sign: keepBeating(createSign(deps)),
    attest: keepBeating(createAttest(deps)),
    writeReport: keepBeating(createReport(deps)),
    mirrorSignatures: keepBeating(createMirror(deps)),
  };
}

export type Activities = ReturnType<typeof createActivities>;
