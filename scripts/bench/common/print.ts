// A bench's figures as text (the JSON file holds everything; this is what to read): a header,
// every step with its phases, the bench's own comparison lines, then the targets.
import type { StepFigures, Target } from './figures';

const top = (c: Record<string, number>, n = 12): string =>
  Object.entries(c)
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
export const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
type Cell = string | number | undefined;
const pad = (v: Cell, n: number): string => String(v ?? '-').padStart(n);

function printPhases(s: StepFigures, line: (t?: string) => void): void {
  if (!s.phases) return;
  const row = (cells: Cell[], rest: string): string =>
    `  ${String(cells[0]).padEnd(10)} ${cells
      .slice(1)
      .map((c, i) => pad(c, [9, 9, 7, 9, 5, 12, 8, 7][i]!))
      .join(' ')}  ${rest}`;
  line(row(['phase', 'seconds', 'requests', '/edge', 'in flight', 'peak', 'floor', 'x floor', 'RSS MiB'], '429s, requests by kind'));
  for (const [p, f] of Object.entries(s.phases)) {
    const floor = f.floor ? `${f.floor.roundTrips} RTT ${f.floor.ms ? `${f.floor.ms} ms` : ''}`.trim() : '-';
    line(
      row(
        [p, f.seconds, f.requests, f.perEdge, f.meanInFlight, f.peakInFlight, floor, f.overFloor, f.peakRssMiB],
        `${f.throttled429} x 429, ${top(f.byKind, 6)}`,
      ),
    );
  }
  line(`  requests outside the phase windows (client side, report, boundary jitter): ${s.requestsOutsidePhases}`);
  if (s.afterPhasesPeakRssMiB) line(`  worker RSS after the last phase (the report): peak ${s.afterPhasesPeakRssMiB} MiB`);
  const chains = Object.entries(s.phases).filter(([, f]) => f.floor?.roundTrips);
  if (chains.length) line(`  floors (dependent requests): ${chains.map(([p, f]) => `${p}: ${f.floor!.chain.join(' -> ')}`).join('; ')}`);
}

export function printStep(s: StepFigures, line: (t?: string) => void): void {
  line(`${s.name}: ${s.status ?? ''} in ${s.wallSeconds} s${s.partial ? ` -- PARTIAL: ${s.partial}` : ''}`);
  line(
    `  requests ${s.requests} (${s.perEdge} per edge, ${s.writes ?? '-'} writes), in flight ${s.meanInFlight ?? '-'} on average (peak ${s.peakInFlight ?? '-'})`,
  );
  line(`  429s ${s.throttled429}, statuses ${top(s.byStatus)}`);
  line(`  downloaded ${mib(s.bytesDownloaded)}, uploaded ${mib(s.bytesUploaded)} in ${s.blobUploads} blob uploads`);
  line(`  by kind: ${top(s.byKind, 20)}`);
  line(`  by role: ${top(s.byRole)}; by host: ${top(s.byHost)}`);
  line(`  peak requests per second by host: ${top(s.peakPerSecondByHost)}`);
  printPhases(s, line);
  if (s.edges) line(`  edges: ${JSON.stringify(s.edges)}`);
  if (s.transfer) line(`  transfer: ${JSON.stringify(s.transfer)}`);
  if (s.signatures) line(`  signatures ${JSON.stringify(s.signatures)}, attestations ${JSON.stringify(s.attestations)}`);
  if (s.mirror) line(`  mirror: ${JSON.stringify(s.mirror)}`);
  if (s.failures?.count) line(`  failures ${s.failures.count}: ${JSON.stringify(s.failures.first)}`);
  if (s.regsync)
    line(
      `  regsync: ${s.regsync.entries} entries, exit ${s.regsync.exitCode}, ${s.regsync.errors} error lines, CPU ${s.regsync.cpuSeconds} s${s.regsync.firstErrors.length ? `; first: ${s.regsync.firstErrors[0]}` : ''}`,
    );
  if (s.peer) {
    const p = s.peer;
    line(`  ${p.tool}: ${p.copies} processes, ${p.parallelism} at a time; ${p.failures} failed; mean ${p.meanProcessMs ?? '-'} ms per process`);
    line(`    sequential estimate ${p.sequentialEstimateSeconds} s; CPU ${p.cpuSeconds} s`);
    for (const f of p.firstFailures) line(`    failure: ${f.what}: ${f.error}`);
  }
  if (s.histories)
    line(
      `  histories: ${s.histories.workflows} workflow(s), largest ${s.histories.maxEvents} events, largest payload ${s.histories.largestPayloadBytes} B (${s.histories.largestPayloadWhere})${s.planBytes !== undefined ? `; plan document ${s.planBytes} B` : ''}`,
    );
  if (s.workers && s.workers.length > 1)
    for (const w of s.workers) line(`  worker pid ${w.pid}: peak RSS ${w.peakRssMiB} MiB, CPU ${w.cpuSeconds} s, did ${JSON.stringify(w.work)}`);
  line(
    `  worker: peak RSS ${s.workerPeakRssMiB} MiB, CPU ${s.workerCpuSeconds} s; registries CPU ${top(s.registryCpuSeconds)}; 1-min load ${s.loadAverage1m.start} -> ${s.loadAverage1m.end}`,
  );
}

export interface Printable {
  /** The first line: which bench, which run. */
  title: string;
  /** What the workload is. */
  workload: string[];
  steps: Record<string, StepFigures>;
  /** The bench's own lines after the steps (checks, comparisons). */
  summary: string[];
  skipped?: string[];
  targets: Record<string, Target>;
}

export function printFigures(f: Printable): void {
  const line = (t = ''): void => console.log(t);
  line();
  line(f.title);
  for (const w of f.workload) line(w);
  line();
  for (const s of Object.values(f.steps)) {
    printStep(s, line);
    line();
  }
  for (const s of f.summary) line(s);
  if (f.skipped?.length) line(`skipped: ${f.skipped.join('; ')}`);
  line();
  line('targets:');
  for (const [k, t] of Object.entries(f.targets))
    line(`  ${t.ok === null ? 'n/a ' : t.ok ? 'PASS' : 'FAIL'} ${k.padEnd(22)} ${t.measured}  [target: ${t.goal}${t.note ? `; ${t.note}` : ''}]`);
}
