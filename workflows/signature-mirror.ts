/**
 * SignatureMirrorWorkflow: the nightly repair run (a Temporal Schedule starts it).
 * For the digests the last confirmed promotion put in place, sign those that have no
 * signature on the primary registry, then copy signatures missing or different on any mirror.
 */
import { proxyActivities, setWorkflowOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { MirrorInput, MirrorReport } from '../lib/run/mirror-types';
import { LONG } from './activity-options';
import { onVersionedWorkers } from './versioning';

const long = proxyActivities<Activities>(LONG);

export async function signatureMirrorWorkflow(input: MirrorInput): Promise<MirrorReport> {
  return long.mirrorSignatures(input);
}

// One short activity per night: each run may as well move to the newest code.
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), signatureMirrorWorkflow);
