import { defineSearchAttributeKey } from '@temporalio/common';

/** Search attributes the promoter sets, so runs can be filtered in the Temporal UI. The dev stack registers them. */
export const PHASE_KEY = defineSearchAttributeKey('PromoterPhase', 'KEYWORD');
export const STATUS_KEY = defineSearchAttributeKey('PromoterStatus', 'KEYWORD');
export const DRY_RUN_KEY = defineSearchAttributeKey('PromoterDryRun', 'BOOL');
export const EDGES_TOTAL_KEY = defineSearchAttributeKey('PromoterEdgesTotal', 'INT');
export const EDGES_PROMOTED_KEY = defineSearchAttributeKey('PromoterEdgesPromoted', 'INT');
export const EDGES_FAILED_KEY = defineSearchAttributeKey('PromoterEdgesFailed', 'INT');

/** Every key above, for servers that must register them (the dev stack, the workflow tests). */
export const ALL_SEARCH_ATTRIBUTE_KEYS = [PHASE_KEY, STATUS_KEY, DRY_RUN_KEY, EDGES_TOTAL_KEY, EDGES_PROMOTED_KEY, EDGES_FAILED_KEY];

export const SEARCH_ATTRIBUTES = {
  PromoterPhase: 'Keyword',
  PromoterStatus: 'Keyword',
  PromoterDryRun: 'Bool',
  PromoterEdgesTotal: 'Int',
  PromoterEdgesPromoted: 'Int',
  PromoterEdgesFailed: 'Int',
} as const;
