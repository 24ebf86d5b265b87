// Every workflow the worker runs. Only deterministic code below this folder: no I/O, clocks or randomness.
export { promotionWorkflow, progressQuery } from './promotion';
export { promoteRangeWorkflow } from './promote-range';
export { signatureMirrorWorkflow } from './signature-mirror';
export { auditWorkflow, auditEventsWorkflow, pushedSignal, auditStateQuery } from './audit';
export { budgetCoordinatorWorkflow } from './budget-coordinator';
export { laneWorkflow } from './lane';
