// The audit on the fake registry, after a real promotion: a clean set flags nothing at one
// tags/list per repository; a rogue tag, a tag moved behind the record (--verify) and a deleted
// signature are flagged; pushes are judged one HEAD each, a promotion's own tags only on a second look.
import { describe, expect, it } from 'vitest';
import type { AuditPushesInput, AuditReport } from '../../lib/run/audit';
import { signatureTag } from '../../lib/signing';
import { Attempt, everywhere, mirrorA, prod, project, staging, World } from '../support/activity-world';

const key = (r: { host: string; repository: string }) => `${r.host}/${r.repository}`;

async function promoted(through: 'attest' | 'sign' = 'attest') {
  const world = new World();
  const d = Object.fromEntries(['app', 'tool'].map((n) => [n, world.registry.putImage(staging(n), n)]));
  const run = await world.run(world.input([project({ images: ['app', 'tool'].map((n) => ({ name: n, dmap: { [d[n]!]: ['v1'] } })) })])).through(through);
  await run.exec(run.worker.writeReport, [run.reportInput()]);
  return { world, d };
}

let n = 0;
const audit = (world: World, input: { verify?: boolean } = {}): Promise<AuditReport> =>
  new Attempt(world.worker().auditRegistries, [input], { workflowId: 'audit', runId: `audit-${++n}` }).done;
const pushes = (world: World, input: Omit<AuditPushesInput, 'batch'>) =>
  new Attempt(world.worker().auditPushes, [{ ...input, batch: ++n }], { workflowId: 'audit-events', runId: 'r' }).done;

describe('audit', () => {
  it('clean after its own promotion: nothing flagged, one tags/list per repository and nothing per digest', async () => {
    const { world } = await promoted();
    const from = world.registry.requests.length;
    const report = await audit(world);
    expect(report).toMatchObject({ status: 'clean', repositories: 6, digests: 6, findings: [] });
    const ops = world.registry.requests.slice(from).map((r) => r.op);
    expect(ops.filter((op) => op === 'listTags')).toHaveLength(6);
    expect(ops.filter((op) => op !== 'listTags' && op !== 'servesReferrersApi')).toEqual([]);
    expect(world.doc<AuditReport>(report.reportKey)).toEqual(report);
  });

  it('flags a rogue tag, an unsigned digest, and (verifying) a tag moved behind the record', async () => {
    const { world, d } = await promoted();
    const rogue = world.registry.putImage(prod('app'), 'intruder', { tag: 'rogue' });
    world.registry.deleteTag(mirrorA('tool'), signatureTag(d.tool!));
    world.registry.putImage(prod('tool'), 'intruder');
    world.registry.moveTag(prod('tool'), 'v1', rogue);
    const cheap = await audit(world);
    expect(cheap.status).toBe('flagged');
    expect(cheap.findings.map((f) => `${f.kind} ${f.repository}${f.tag ? `:${f.tag}` : ''}@${f.digest}`)).toEqual([
      `unsigned ${key(mirrorA('tool'))}@${d.tool}`,
      `rogue-tag ${key(prod('app'))}:rogue@${rogue}`,
    ]);
    const verified = await audit(world, { verify: true });
    expect(verified.findings.filter((f) => f.kind === 'moved-tag')).toEqual([
      expect.objectContaining({ repository: key(prod('tool')), tag: 'v1', digest: rogue, expected: d.tool }),
    ]);
    expect(verified.counts).toEqual({ 'rogue-tag': 1, 'moved-tag': 1, unsigned: 1, unattested: 0 });
  });

  it('verifying, flags a digest signed but never attested, at every destination', async () => {
    const { world, d } = await promoted('sign');
    const verified = await audit(world, { verify: true });
    expect(verified.counts.unattested).toBe(6);
    expect(verified.findings.filter((f) => f.kind === 'unattested' && f.repository === key(prod('app'))).map((f) => f.digest)).toEqual([d.app]);
  });

  it('judges pushed tags: a move at once, an unknown tag on its second look, its own tags and signatures never', async () => {
    const { world, d } = await promoted();
    const rogue = world.registry.putImage(prod('app'), 'intruder', { tag: 'rogue' });
    world.registry.putImage(prod('tool'), 'intruder');
    world.registry.moveTag(prod('tool'), 'v1', rogue);
    const at = (repo: { host: string; repository: string }, tag: string, digest: string) => ({ host: repo.host, repository: repo.repository, tag, digest });
    const events = [
      at(prod('app'), 'rogue', rogue),
      at(prod('tool'), 'v1', rogue),
      at(prod('app'), 'v1', d.app!),
      at(prod('app'), signatureTag(d.app!), d.app!),
    ];
    const first = await pushes(world, { events, final: false });
    expect(first.findings.map((f) => `${f.kind} ${f.tag}`)).toEqual(['moved-tag v1']);
    expect(first.suspects).toEqual([events[0]]);
    expect(first.ignored).toBe(1);
    const second = await pushes(world, { events: first.suspects, final: true });
    expect(second.findings).toEqual([expect.objectContaining({ kind: 'rogue-tag', repository: key(prod('app')), tag: 'rogue', digest: rogue })]);
    expect(world.docs(`audits/audit-events/`).size).toBe(2);
    // Outside the manifests' repositories: not judged.
    const elsewhere = await pushes(world, { events: [{ host: 'other.example', repository: 'x', tag: 'v1', digest: d.app! }], final: true });
    expect(elsewhere).toMatchObject({ findings: [], ignored: 1 });
    expect(everywhere('app')).toHaveLength(3);
  });
});
