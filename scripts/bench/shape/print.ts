// The shape bench's figures as text (the JSON file holds everything; this is what to read).
import type { ShapeFigures, StepFigures } from './figures';

const top = (c: Record<string, number>, n = 12): string =>
  Object.entries(c)
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

function printStep(s: StepFigures, line: (t?: string) => void): void {
  line(`${s.name}: ${s.status ?? ''} in ${s.wallSeconds} s${s.partial ? ` -- PARTIAL: ${s.partial}` : ''}`);
  line(`  requests ${s.requests} (${s.perEdge} per edge), 429s ${s.throttled429}, statuses ${top(s.byStatus)}; downloaded ${mib(s.bytesDownloaded)}, uploaded ${mib(s.bytesUploaded)} in ${s.blobUploads} blob uploads`);
  line(`  by kind: ${top(s.byKind, 20)}`);
  line(`  by role: ${top(s.byRole)}; by host: ${top(s.byHost)}`);
  line(`  peak requests per second by host: ${top(s.peakPerSecondByHost)}`);
  if (s.phases) {
    for (const [p, f] of Object.entries(s.phases)) {
      line(`  ${p.padEnd(10)} ${String(f.seconds).padStart(8)} s  ${String(f.requests).padStart(8)} req  ${String(f.perEdge).padStart(6)}/edge  ${f.throttled429} x 429  ${top(f.byKind, 8)}`);
    }
    line(`  requests outside the phase windows (client side, report, boundary jitter): ${s.requestsOutsidePhases}`);
  }
  if (s.edges) line(`  edges: ${JSON.stringify(s.edges)}`);
  if (s.signatures) line(`  signatures ${JSON.stringify(s.signatures)}, attestations ${JSON.stringify(s.attestations)}`);
  if (s.mirror) line(`  mirror: ${JSON.stringify(s.mirror)}`);
  if (s.failures?.count) line(`  failures ${s.failures.count}: ${JSON.stringify(s.failures.first)}`);
  if (s.regsync) line(`  regsync: ${s.regsync.entries} entries, exit ${s.regsync.exitCode}, ${s.regsync.errors} error lines, CPU ${s.regsync.cpuSeconds} s${s.regsync.firstErrors.length ? `; first: ${s.regsync.firstErrors[0]}` : ''}`);
  if (s.histories) line(`  histories: ${s.histories.workflows} workflow(s), largest ${s.histories.maxEvents} events, largest payload ${s.histories.largestPayloadBytes} B (${s.histories.largestPayloadWhere})${s.planBytes !== undefined ? `; plan document ${s.planBytes} B` : ''}`);
  if (s.workers && s.workers.length > 1) for (const w of s.workers) line(`  worker pid ${w.pid}: peak RSS ${w.peakRssMiB} MiB, CPU ${w.cpuSeconds} s, did ${JSON.stringify(w.work)}`);
  line(`  worker: peak RSS ${s.workerPeakRssMiB} MiB, CPU ${s.workerCpuSeconds} s; registries CPU ${top(s.registryCpuSeconds)}; 1-min load ${s.loadAverage1m.start} -> ${s.loadAverage1m.end}`);
}

export function printShapeFigures(f: ShapeFigures): void {
  const line = (t = ''): void => console.log(t);
  const w = f.workload;
  line();
  line(`== k8s-shape bench ${f.prefix} (${f.startedAt}); ${f.machine?.cpus ?? "?"} CPUs, shared with other work (see the load per step)`);
  line(`workload: ${w.projects} projects, ${w.imageNames} images, ${w.digests} digests (${w.multiArch} multi-arch x3 platforms), ${w.imageDigests} (image, digest) pairs`);
  line(`          ${w.edges} edges to ${w.destinationRegistries} destination registries on ${w.hosts.length} hosts (${w.destinationRepositories} destination + ${w.sourceRepositories} source repositories)`);
  line(`          ${w.signedManifestDestinations} signed manifest x destination pairs (${w.signedManifestMirrorDestinations} on mirrors); ${w.distinctBlobs} distinct blobs, ${mib(w.distinctBlobBytes)}; delay ${w.rttMs} ms per request; seeded in ${f.seedSeconds} s (not measured)`);
  line();
  for (const s of Object.values(f.steps)) {
    printStep(s, line);
    line();
  }
  if (f.damage) line(`damage: signatures of ${f.damage.images} image digests (${f.damage.manifests} manifests) deleted on mirror #${f.damage.mirrorIndex}: ${f.damage.deleted} manifests removed`);
  if (f.repair) line(`repair check: ${f.repair.repaired}/${f.repair.manifests} manifests have the primary's .sig and referrers index again${f.repair.missing.length ? `; missing: ${f.repair.missing.join(', ')}` : ''}`);
  for (const c of f.cosign ?? []) line(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.command}${c.ok ? '' : `\n       ${c.output}`}`);
  line();
  const c = f.comparison;
  line('promoter vs regsync (same run, same registries, requests from the registries\' access logs):');
  line(`  copy: promoter setup..promote ${c.promoterCopySeconds} s vs regsync ${c.regsyncCopySeconds ?? '-'} s: regsync/promoter ${c.regsyncCopyOverPromoterCopy ?? '-'}x; requests per edge ${c.promoterCopyRequestsPerEdge} vs ${c.regsyncCopyRequestsPerEdge ?? '-'} (promoter/regsync ${c.promoterOverRegsyncCopyRequests ?? '-'}x)`);
  line(`  edges in place per second of copying (tag writes / time): promoter ${c.promoterEdgesPerSecond ?? '-'}, regsync ${c.regsyncEdgesPerSecond ?? '-'}`);
  line(`  whole promotion with signing ${c.promoterWholeRunSeconds ?? '-'} s = ${c.promoterWholeRunOverRegsyncCopy ?? '-'}x regsync's copy`);
  line(`  sign + attest: ${c.signAttestSeconds} s, ${c.signAttestRequests} requests = ${c.signAttestRequestsPerSignedManifestPerDestination} per signed manifest per destination; on mirrors ${c.signAttestMirrorRequests} = ${c.signAttestMirrorRequestsPerSignedManifestPerMirror} per signed manifest per mirror`);
  if (c.signaturesWritten !== undefined) line(`  sign alone: ${c.signRequestsPerSignatureWritten} requests per signature written (${c.signaturesWritten} manifest x destination signatures, both formats)`);
  line(`  regsync signature copy primary -> mirrors: ${c.regsyncSignatureCopySeconds ?? '-'} s, ${c.regsyncSignatureCopyRequests ?? '-'} requests = ${c.regsyncSignatureCopyRequestsPerSignedManifestPerMirror ?? '-'} per signed manifest per mirror; promoter mirror requests / regsync ${c.promoterMirroringOverRegsyncSignatureRequests ?? '-'}x, promoter sign+attest time / regsync ${c.promoterSignAttestOverRegsyncSignatureSeconds ?? '-'}x`);
  line(`run: worker peak RSS ${f.run.workerPeakRssMiB} MiB; largest history ${f.run.maxHistoryEvents} events; largest payload ${f.run.largestPayloadBytes} B; plan document ${f.run.planBytes ?? '-'} B`);
  if (f.skipped.length) line(`skipped: ${f.skipped.join('; ')}`);
  line();
  line('targets:');
  for (const [k, t] of Object.entries(f.targets)) line(`  ${t.ok === null ? 'n/a ' : t.ok ? 'PASS' : 'FAIL'} ${k.padEnd(20)} ${t.measured}  [target: ${t.goal}${t.note ? `; ${t.note}` : ''}]`);
}
