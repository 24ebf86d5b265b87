// The bench figures as a plain-text summary (the JSON file has everything, this has what to read).
import type { Figures } from './figures';
import type { CpuSnapshot } from './probe';

const kib = (b: number): string => `${(b / 1024).toFixed(0)} KiB`;
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const counts = (c: Record<string, number>): string =>
  Object.entries(c)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** "worker process 12.3 s, registry-production 4.5 s, ..." (client first, then the busiest components). */
function cpu(c: CpuSnapshot, label: string, which: 'self' | 'children' = 'self'): string {
  const parts = Object.entries(c.components)
    .filter(([, v]) => v >= 0.1)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${v} s`);
  return [`${label} ${c[which]} s`, ...parts].join(', ');
}

function printRerun(title: string, r: Figures['rerun'], edges: number): void {
  const line = (s = ''): void => console.log(s);
  line(`${title}: ${r.status} in ${r.wallSeconds} s; edges already present ${r.edges.alreadyPresent}, promoted ${r.edges.promoted}; writes ${r.requests.writes}`);
  line(`  phases: ${Object.entries(r.phaseSeconds).map(([k, v]) => `${k} ${v}s`).join(', ')}`);
  line(`  requests: ${r.requests.total} (by method: ${counts(r.requests.byMethod)})`);
  line(`  = ${r.perRepository} per repository (${r.sourceRepositories} source + ${r.destinationRepositories} destination) = ${r.perEdge} per edge (${edges})`);
  for (const [phase, c] of Object.entries(r.callsByPhase)) line(`    ${phase}: ${counts(c)}`);
  line(`  plan: ${r.listTags} tags/list (one per repository) + ${r.headByTag} HEAD by tag (one per tagged edge); after plan: ${r.callsAfterPlan} calls (per digest and destination)`);
  line(
    r.growsWithEdges
      ? `  => these requests GROW WITH THE NUMBER OF EDGES, not only with repositories`
      : `  => these requests grow with repositories, not edges`,
  );
}

export function printFigures(f: Figures): void {
  const w = f.workload;
  const p = f.promoter;
  const line = (s = ''): void => console.log(s);
  line();
  line(`== promoter bench ${f.prefix} (${f.startedAt}); machine: ${f.machine.cpus} CPUs, 1-min load ${Object.entries(f.machine.loadavg1m).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  line(`workload: ${w.images} images (${w.multiArch} multi-arch, 2 platforms) in ${w.repositories} repositories -> ${w.destinations.length} destinations = ${w.edges} edges`);
  line(`          ${w.manifestsPerDestination} manifests per destination; ${w.distinctBlobs} distinct blobs, ${mib(w.distinctBlobBytes)} (${mib(w.blobBytesWithoutSharing)} if nothing were shared); own layers ~${kib(w.layerSizeBytes)}, base layers ${kib(2 * w.layerSizeBytes)}`);
  line(`          seeded in ${f.seedSeconds} s (not measured)`);
  line();
  line(`promoter (worker in-process, registry budget ${p.limits.requestsPerSecond} req/s, burst ${p.limits.burst}, ${p.limits.concurrency} in flight per host; shipped default 50 req/s, burst 100):`);
  line(`  status ${p.status} (exit ${p.exitCode}); edges promoted ${p.edges.promoted}/${w.edges}, failed ${p.edges.failed}; signed ${p.signatures.signed}, signatures mirrored ${p.signatures.mirrored}, attestations ${p.attestations.written}`);
  for (const fl of p.firstFailures) line(`  failure: ${fl.code} ${fl.edge}: ${fl.error}`);
  line(`  wall time, total (start -> report, every phase incl. sign + attest): ${p.wallSeconds} s`);
  line(`  wall time, copy phases only (setup + plan + promote):                ${p.copyPhasesSeconds} s`);
  line(`  phases: ${Object.entries(p.phaseSeconds).map(([k, v]) => `${k} ${v}s`).join(', ')}`);
  line(`  bytes uploaded ${p.bytesUploaded} vs unique bytes needed ${p.bytesNeeded} (sum over destination registries of distinct blob sizes): ratio ${p.bytesUploadedOverNeeded}`);
  line(`  blobs: uploaded ${p.transfer.blobsUploaded} (needed ${p.blobsNeeded}), mounted ${p.transfer.blobsMounted}, skipped ${p.transfer.blobsSkipped}; manifests written ${p.transfer.manifestsWritten}`);
  line(`  requests (HTTP, all phases): ${p.requests.total} = ${p.requests.perEdge} per edge; by method: ${counts(p.requests.byMethod)}`);
  line(`    per edge by method: ${counts(p.requests.perEdgeByMethod)}; retries ${p.requests.retries}, 429s ${p.requests.throttled}`);
  line(`    copy phases ${p.requests.copyCallsPerEdge} calls per edge; sign ${p.requests.signCallsPerManifest} calls per manifest signed (mirrors included); attest ${p.requests.attestCallsPerImage} calls per image`);
  line(`    by host: ${counts(p.requests.byHost)}`);
  for (const [phase, c] of Object.entries(p.callsByPhase)) line(`    ${phase}: ${counts(c)}`);
  line(`  memory (whole bench process, worker included): rss before ${p.memory.baselineRssMiB} MiB, peak ${p.memory.peakRssMiB} MiB (sampled every 100 ms), peak heap ${p.memory.peakHeapUsedMiB} MiB, process maxRSS ${p.memory.processMaxRssMiB} MiB`);
  line(`  CPU while it ran: ${cpu(f.cpuSeconds.promoter, 'worker process')}`);
  line();
  if (f.skopeo) {
    const s = f.skopeo;
    line(`skopeo (${s.version}): ${s.copies} x \`skopeo copy --all --preserve-digests\`, ${s.parallelism} processes at a time (xargs -P ${s.parallelism}):`);
    line(`  wall time ${s.wallSeconds} s; ${s.failures} failed; mean ${s.meanProcessMs} ms per process; sequential (P=1) estimate ${s.sequentialEstimateSeconds} s`);
    for (const fl of s.firstFailures) line(`  failure: ${fl.copy.src} -> ${fl.copy.dst}: ${fl.stderr}`);
    if (f.cpuSeconds.skopeo) line(`  CPU while it ran: ${cpu(f.cpuSeconds.skopeo, 'skopeo processes', 'children')}`);
    line(`  ratio skopeo / promoter total wall:       ${f.comparison.skopeoOverPromoterWall}x`);
    line(`  ratio skopeo / promoter copy phases only: ${f.comparison.skopeoOverPromoterCopyPhases}x`);
    line();
  }
  printRerun('no-op rerun of the same manifest (trusting the tag record of earlier runs)', f.rerun, w.edges);
  line(`  CPU while it ran: ${cpu(f.cpuSeconds.rerun, 'worker process')}`);
  line();
  printRerun('no-op rerun with --verify-tags (HEAD on every destination tag)', f.rerunVerifyTags, w.edges);
  line();
  line(`spot checks (skopeo inspect --raw, tag -> digest): ${f.checks.ok}/${f.checks.checked} match`);
  for (const b of f.checks.bad) line(`  MISMATCH ${b.ref}: expected ${b.expected}, got ${b.got}`);
  line();
  line(`targets: ${Object.entries(f.verdict.targets).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join('; ')}`);
  line(`bench took ${f.benchSeconds} s`);
}
