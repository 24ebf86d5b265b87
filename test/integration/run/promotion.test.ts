// A real confirmed promotion: every phase on the dev stack, checked with independent clients
// (skopeo for what the registries hold, the real cosign for signatures and attestations).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { PROMOTION_PREDICATE_TYPE } from '../../../lib/signing';
import { copyImage } from '../../../lib/oci';
import { parseJsonOutput, runCli } from '../../support/cli';
import { COSIGN_OFFLINE, findCosign, runCosign } from '../../support/cosign';
import { buildScenario, type Scenario } from '../../support/scenario';
import { skopeoDigest } from '../../support/skopeo';
import { stack } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

let worker: TestWorker;
let scenario: Scenario;
let first: RunReport;
let firstCode: number;

beforeAll(async () => {
  [worker, scenario] = await Promise.all([startTestWorker('promote'), buildScenario()]);
  const r = await runCli(['run', '--manifest', scenario.manifestFile, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
  first = parseJsonOutput<RunReport>(r);
  firstCode = r.code;
}, 240_000);
afterAll(async () => worker?.stop());

const refs = (s: Scenario) => ({
  promoted: [
    { ref: `${s.mirrorA}/${s.prefix}/a`, tag: 'v1', digest: s.digests.a },
    { ref: `${s.mirror}/${s.prefix}/a`, tag: 'v1', digest: s.digests.a },
    { ref: `${s.production}/${s.prefix}/b`, tag: 'v2', digest: s.digests.b },
    { ref: `${s.mirrorA}/${s.prefix}/b`, tag: 'v2', digest: s.digests.b },
    { ref: `${s.mirror}/${s.prefix}/b`, tag: 'v2', digest: s.digests.b },
    { ref: `${s.mirrorA}/${s.prefix}/c`, tag: 'v3', digest: s.digests.c },
    { ref: `${s.mirror}/${s.prefix}/c`, tag: 'v3', digest: s.digests.c },
  ],
});

describe('confirmed promotion', () => {
  it('promotes every healthy edge, fails only the LOST and tag-move edges, and says so', () => {
    expect(first.status).toBe('failed');
    expect(firstCode).toBe(1);
    expect(first.edges).toMatchObject({ total: 12, toPromote: 7, promoted: 7, alreadyPresent: 1, lost: 3, tagMoves: 1, failed: 4 });
    for (const p of ['setup', 'plan', 'promote', 'sign', 'attest'] as const) expect(first.phases[p].status).toBe('succeeded');
    expect(first.failures.map((f) => f.code).sort()).toEqual(['LOST', 'LOST', 'LOST', 'TAG_MOVE']);
    // b is multi-arch: the index and its two children are manifests too
    expect(first.transfer.manifestsWritten).toBeGreaterThanOrEqual(7 + 2 * 3);
    expect(first.transfer.blobsUploaded + first.transfer.blobsMounted).toBeGreaterThan(0);
  });

  it('skopeo reads identical digests at every destination, by tag and by digest', async () => {
    for (const e of refs(scenario).promoted) {
      expect(await skopeoDigest(`${e.ref}:${e.tag}`), `${e.ref}:${e.tag}`).toBe(e.digest);
      expect(await skopeoDigest(`${e.ref}@${e.digest}`)).toBe(e.digest);
    }
    for (const child of scenario.digests.bChildren) {
      expect(await skopeoDigest(`${scenario.mirror}/${scenario.prefix}/b@${child}`)).toBe(child);
    }
  });

  it('never moves a tag: production c:v3 still points at the image that was there', async () => {
    expect(await skopeoDigest(`${scenario.production}/${scenario.prefix}/c:v3`)).toBe(scenario.digests.other);
  });

  it('signs each promoted digest once (index and children) and mirrors the signatures', () => {
    // a, b, c in place at their first destination (a was already in production: signed now, a repair);
    // manifests: a, c, and b's index with its two children
    expect(first.signatures.signed).toBe(3);
    expect(first.signatures.manifestsSigned).toBe(5);
    expect(first.signatures.mirrored).toBeGreaterThan(0);
    expect(first.attestations.written).toBe(3); // a (mirrors), b, c (mirrors): one per promoted digest
  });

  it.skipIf(!findCosign())('the real cosign verifies signatures at production and mirrors, and the attestation', async () => {
    const s = stack();
    const env = { DOCKER_CONFIG: s.dockerConfigDir };
    for (const host of [scenario.production, scenario.mirrorA, scenario.mirror]) {
      for (const digest of [scenario.digests.b, ...scenario.digests.bChildren]) {
        const ref = `${host}/${scenario.prefix}/b@${digest}`;
        for (const extra of [[], ['--new-bundle-format=false']]) {
          const r = await runCosign(['verify', '--key', s.publicKeyPath, ...extra, ...COSIGN_OFFLINE.verify, ref], env);
          expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
        }
      }
    }
    const att = await runCosign(
      [
        'verify-attestation',
        '--key',
        s.publicKeyPath,
        '--type',
        PROMOTION_PREDICATE_TYPE,
        ...COSIGN_OFFLINE.verify,
        `${scenario.production}/${scenario.prefix}/b@${scenario.digests.b}`,
      ],
      env,
    );
    expect(att.code, `${att.command}\n${att.stderr}`).toBe(0);
    const statement = JSON.parse(Buffer.from(JSON.parse(att.stdout.trim().split('\n')[0]!).payload, 'base64').toString('utf8'));
    expect(statement.subject[0].digest.sha256).toBe(scenario.digests.b.slice(7));
    expect(statement.predicate.run.id).toContain(first.workflowId);
  });

  it('a rerun of the same manifests promotes nothing, signs nothing again, writes nothing, and reads about once per repository', async () => {
    const before = worker.writeRequests();
    const requestsBefore = worker.telemetry.totalRequests();
    const r = await runCli(['run', '--manifest', scenario.manifestFile, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
    const again = parseJsonOutput<RunReport>(r);
    expect(again.edges).toMatchObject({ total: 12, toPromote: 0, promoted: 0, alreadyPresent: 8, lost: 3, tagMoves: 1 });
    expect(again.signatures).toMatchObject({ signed: 0, alreadySigned: 3, mirrored: 0 });
    expect(again.attestations.written).toBe(0);
    expect(worker.writeRequests() - before).toBe(0);
    // 4 pings + 12 destination tags/list + HEADs only where a tag is not known to be ours (c:v3, the
    // tag move) and for sources with edges not in place (c, gone): nothing per edge in place.
    const repositories = 12 + 4;
    expect(worker.telemetry.totalRequests() - requestsBefore).toBeLessThanOrEqual(repositories + 8);
  }, 120_000);

  it('--verify-tags HEADs every tag and so sees a tag somebody else moved behind the record', async () => {
    const { client, prefix, mirrorA, digests } = scenario;
    // somebody re-points mirror-a's a:v1 at another image, outside the promoter
    const other = await client.getManifest({ host: scenario.production, repository: `${prefix}/c`, digest: digests.other });
    await copyImage(client, { host: scenario.production, repository: `${prefix}/c`, digest: digests.other }, { host: mirrorA, repository: `${prefix}/a` });
    await client.putManifest({ host: mirrorA, repository: `${prefix}/a`, tag: 'v1' }, other.bytes, other.mediaType);

    const env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
    const trusting = parseJsonOutput<RunReport>(await runCli(['run', '--manifest', scenario.manifestFile, '--wait', '--json'], env));
    expect(trusting.edges.tagMoves).toBe(1); // only c:v3 in production: the record still says a:v1 is ours
    const verifying = parseJsonOutput<RunReport>(await runCli(['run', '--manifest', scenario.manifestFile, '--wait', '--json', '--verify-tags'], env));
    expect(verifying.edges.tagMoves).toBe(2);
    expect(verifying.failures.map((f) => f.edge)).toContain(`${mirrorA}/${prefix}/a:v1@${digests.a}`);
  });
});
