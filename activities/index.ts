/**
 * The activities, one file per phase. `createActivities` closes over the worker's shared
 * dependencies; the workflows only ever see the `Activities` type.
 */
import type { ActivityDeps } from './context';
import { createSetup } from './setup';
import { createPlan } from './plan';
import { createProvenance } from './provenance';
import { createValidate } from './validate';
import { createPromote } from './promote';
import { createSign } from './sign';
import { createAttest } from './attest';
import { createReport } from './report';
import { createMirror } from './mirror';

export function createActivities(deps: ActivityDeps) {
  return {
    setup: createSetup(deps),
    plan: createPlan(deps),
    provenance: createProvenance(deps),
    validate: createValidate(deps),
    promoteBatch: createPromote(deps),
    sign: createSign(deps),
    attest: createAttest(deps),
    writeReport: createReport(deps),
    mirrorSignatures: createMirror(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
