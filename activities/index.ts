/**
 * The activities, one file per phase. `createActivities` closes over the worker's shared
 * dependencies (and gives each set of activities its own document cache and trust material);
 * the workflows only ever see the `Activities` type.
 */
import { keepBeating, type ActivityDeps, type WorkerDeps } from './context';
import { RunDocuments } from './load';
import { NO_METRICS } from './metrics';
import { TrustMaterial } from './trust';
import { createSetup } from './setup';
import { createPlan } from './plan';
import { createProvenance } from './provenance';
import { createValidate } from './validate';
import { createPromote } from './promote';
import { createSign } from './sign';
import { createAttest } from './attest';
import { createReport } from './report';
import { createMirror } from './mirror';

export function createActivities(worker: WorkerDeps) {
  const deps: ActivityDeps = {
    ...worker,
    metrics: worker.metrics ?? NO_METRICS,
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
