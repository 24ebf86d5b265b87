/** Human output of reports and progress. `--json` prints the objects as they are instead. */
import type { RunProgress, RunReport } from '../lib/run/report';
import { PHASES } from '../lib/run/outcomes';
import { describeWait } from '../lib/run/lanes';

const duration = (ms?: number): string => (ms === undefined ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

export function formatReport(r: RunReport, maxFailures = 20): string {
  const lines: string[] = [];
  lines.push(`run ${r.workflowId} (${r.runId}): ${r.status.toUpperCase()}`);
  lines.push('phases:');
  for (const p of PHASES) {
    const ph = r.phases[p];
    lines.push(`  ${p.padEnd(11)} ${ph.status.padEnd(9)} ${duration(ph.durationMs).padStart(9)}  ${ph.summary ?? ''}`.trimEnd());
  }
  const e = r.edges;
  lines.push(
    `edges: ${e.total} total, ${e.toPromote} to promote, ${e.promoted} promoted, ${e.alreadyPresent} already present, ${e.failed} failed (${e.lost} lost, ${e.tagMoves} tag moves), ${e.overlaps} overlapping`,
  );
  const t = r.transfer;
  if (!r.dryRun) {
    lines.push(
      `transfer: ${t.blobsUploaded} blobs uploaded (${bytes(t.bytesUploaded)}), ${t.blobsMounted} mounted, ${t.blobsSkipped} already there, ${t.manifestsWritten} manifests written, ${t.requests} requests`,
    );
    lines.push(
      `signatures: ${r.signatures.signed} images signed (${r.signatures.manifestsSigned} manifests), ${r.signatures.alreadySigned} already signed, ${r.signatures.mirrored} copies to mirrors; attestations: ${r.attestations.written} written`,
    );
  }
  for (const [name, v] of [
    ['provenance', r.provenance],
    ['signatures verified', r.signaturesVerified],
  ] as const) {
    if (v)
      lines.push(
        `${name}: mode ${v.mode}, ${v.checked} checked, ${v.passed} passed, ${v.failed} failed, ${v.missing} missing, ${v.warnings} warnings, ${v.blocked} blocked`,
      );
  }
  lines.push(`audit: s3://${r.audit.bucket}/${r.audit.reportKey ?? ''}`);
  if (r.failureCount > 0) {
    const byCode = Object.entries(r.failuresByCode ?? {}).map(([code, n]) => `${code} ${n}`);
    lines.push(`failures (${r.failureCount}${byCode.length ? `: ${byCode.join(', ')}` : ''}):`);
    for (const f of r.failures.slice(0, maxFailures)) lines.push(`  [${f.phase}] ${f.code} ${f.edge}: ${f.error}`);
    const where = r.audit.failureKeys?.length ? `its ${r.audit.failureKeys.length} failure parts (audit.failureKeys)` : 'the stored report';
    if (r.failureCount > maxFailures) lines.push(`  ... ${r.failureCount - maxFailures} more in ${where}`);
  }
  return lines.join('\n');
}

export function formatProgress(p: RunProgress): string {
  const lines = [`run ${p.workflowId}: ${p.status}, phase ${p.currentPhase}`];
  for (const name of PHASES) {
    const ph = p.phases[name];
    lines.push(`  ${name.padEnd(11)} ${ph.status.padEnd(9)} ${duration(ph.durationMs).padStart(9)}  ${ph.summary ?? ''}`.trimEnd());
  }
  if (p.edges)
    lines.push(`edges: ${p.edges.total} total, ${p.edges.promote} to promote, ${p.edges.present} present, ${p.edges.lost} lost, ${p.edges.tagMoves} tag moves`);
  if (p.batchesTotal > 0) lines.push(`promote batches: ${p.batchesDone}/${p.batchesTotal}`);
  if (p.waitingForLane) lines.push(`${describeWait(p.waitingForLane)} (since ${p.waitingForLane.since})`);
  return lines.join('\n');
}
