import { defineSearchAttributeKey } from '@temporalio/common';

/** Search attributes the promoter sets, so runs can be filtered in the Temporal UI. The dev stack registers them. */
export const PHASE_KEY = defineSearchAttributeKey('PromoterPhase', 'KEYWORD');
export const STATUS_KEY = defineSearchAttributeKey('PromoterStatus', 'KEYWORD');
export const DRY_RUN_KEY = defineSearchAttributeKey('PromoterDryRun', 'BOOL');
export const EDGES_TOTAL_KEY = defineSearchAttributeKey('PromoterEdgesTotal', 'INT');
export const EDGES_PROMOTED_KEY = defineSearchAttributeKey('PromoterEdgesPromoted', 'INT');
export const EDGES_FAILED_KEY = defineSearchAttributeKey('PromoterEdgesFailed', 'INT');

export const SEARCH_ATTRIBUTES = {
  PromoterPhase: 'Keyword',
  PromoterStatus: 'Keyword',
  PromoterDryRun: 'Bool',
  PromoterEdgesTotal: 'Int',
  PromoterEdgesPromoted: 'Int',
  PromoterEdgesFailed: 'Int',
} as const;
