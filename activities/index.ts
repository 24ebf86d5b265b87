/**
 * The activities. phases/ holds one file per activity the workflows call: the seven phases of a
 * promotion, and the other steps a workflow runs as an activity of its own: the report (the
 * promotion's last step, run whatever failed before it), the nightly signature re-mirroring (the
 * whole of SignatureMirrorWorkflow), the audit (AuditWorkflow, AuditEventsWorkflow) and asking for
 * a promotion lane (a signal-with-start). They sit with the phases because they are read the same
 * way: one step of a workflow, its input, its output, its S3 documents; and like the phases they
 * import nothing from each other. shared/ holds what they share (the registry port, heartbeats,
 * the run documents, the images in place, signing, verification, write-once documents).
 *
 * `createActivities` closes over the worker's shared dependencies (and gives each set of
 * activities its own document cache and trust material); every activity heartbeats for as long
 * as it runs. The workflows only ever see the `Activities` type.
 */
import type { ActivityDeps, WorkerDeps } from './shared/deps';
import { keepBeating } from './shared/heartbeat';
import { RunDocuments } from './shared/documents';
import { NO_METRICS } from './shared/metrics';
import { TrustMaterial } from './shared/trust';
import { SourceEvidence } from './shared/source-evidence';
import { createSetup } from './phases/setup';
import { createPlan } from './phases/plan';
import { createProvenance } from './phases/provenance';
import { createValidate } from './phases/validate';
import { createPromote } from './phases/promote';
import { createSign } from './phases/sign';
import { createAttest } from './phases/attest';
import { createReport } from './phases/report';
import { createMirror } from './phases/mirror';
import { createRequestLane } from './phases/lane';
import { createAudit } from './phases/audit';

export function createActivities(worker: WorkerDeps) {
  const deps: ActivityDeps = {
    ...worker,
    metrics: worker.metrics ?? NO_METRICS,
    requestsSent: worker.requestsSent ?? (() => 0),
    documents: new RunDocuments(worker.store),
    trust: new TrustMaterial(worker.config.signing),
    evidence: new SourceEvidence(worker.registry),
  };
  const audit = createAudit(deps);
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
    requestLane: keepBeating(createRequestLane()),
    auditRegistries: keepBeating(audit.auditRegistries),
    auditPushes: keepBeating(audit.auditPushes),
  };
}

export type Activities = ReturnType<typeof createActivities>;
