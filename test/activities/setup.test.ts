// Setup on the fake registry: it checks the options, the bundle, every registry and the trust
// material, and says whether a failure may heal by itself (retryable) or never will.
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { OciError } from '../../lib/oci';
import { p256Pair } from '../unit/signing/helpers';
import { project, World } from '../support/activity-world';

const IMAGE = { name: 'app', dmap: { [`sha256:${'1'.repeat(64)}`]: ['v1'] } };

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('setup', () => {
  it('pings every registry of the manifests once, and loads every policy key and the signing key', async () => {
    const world = new World();
    const keys = [p256Pair().publicPem];
    const run = world.run(world.input([project({ images: [IMAGE], signatures: { mode: 'require', keys }, provenance: { keys } })]));
    const result = await run.exec(run.worker.setup, [run.input]);
    expect(result).toEqual({ registries: ['mirror-a.example', 'mirror-b.example', 'prod.example', 'staging.example'], projects: 1 });
    expect(
      world.registry.requests
        .filter((r) => r.op === 'ping')
        .map((r) => r.where)
        .sort(),
    ).toEqual(result.registries);
    expect(world.registry.requests.every((r) => r.op === 'ping')).toBe(true);
  });

  it('refuses run options out of range before asking any registry, naming the option', async () => {
    const world = new World();
    const run = world.run(world.input([project({ images: [IMAGE] })], { options: { batchSize: 0 } }));
    const err = await failure(run.exec(run.worker.setup, [run.input]));
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toMatch(/invalid run options: batchSize/);
    expect(world.registry.requests).toEqual([]);
  });

  it('a manifest naming a registry the worker may not speak to is refused before any request, naming the host', async () => {
    const world = new World({ env: { PROMOTER_ALLOWED_REGISTRIES: 'staging.example,prod.example,mirror-a.example' } });
    const run = world.run(world.input([project({ images: [IMAGE] })]));
    const err = await failure(run.exec(run.worker.setup, [run.input]));
    expect(err).toMatchObject({ type: 'RegistryNotAllowed', nonRetryable: true });
    expect(err.message).toBe(
      'registries not allowed: manifests/demo/promoter-manifest.yaml: registry-not-allowed: destination registry mirror-b.example/p: ' +
        'mirror-b.example is not allowed by PROMOTER_ALLOWED_REGISTRIES=staging.example,prod.example,mirror-a.example',
    );
    expect(world.registry.requests).toEqual([]);
  });

  it('refuses a bundle whose stored bytes do not hash to the input hash', async () => {
    const world = new World();
    const run = world.run(world.input([project({ images: [IMAGE] })]));
    world.store.docs.set(run.input.bundleKey, world.store.docs.get(run.input.bundleKey)!.replace('"v1"', '"v2"'));
    const err = await failure(run.exec(run.worker.setup, [run.input]));
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toContain(run.input.bundleKey);
    expect(world.registry.requests).toEqual([]);
  });

  it('denied credentials and refused certificates fail for good; an unreachable registry is retried', async () => {
    const cases = [
      {
        fault: new OciError({ code: 'DENIED', status: 403, registry: 'prod.example', message: 'ping prod.example: denied' }),
        type: 'RegistryAccess',
        retryable: false,
      },
      {
        fault: new OciError({ code: 'TLS', registry: 'prod.example', message: 'prod.example: unable to verify the first certificate' }),
        type: 'RegistryAccess',
        retryable: false,
      },
      {
        fault: new OciError({ code: 'NETWORK', registry: 'prod.example', message: 'prod.example: connect ECONNREFUSED' }),
        type: 'RegistryUnavailable',
        retryable: true,
      },
    ];
    for (const c of cases) {
      const world = new World();
      world.registry.inject({ op: 'ping', where: 'prod.example', fault: c.fault });
      const run = world.run(world.input([project({ images: [IMAGE] })]));
      const err = await failure(run.exec(run.worker.setup, [run.input]));
      expect(err.type, c.fault.code).toBe(c.type);
      expect(err.nonRetryable, c.fault.code).toBe(!c.retryable);
      // Only the failing host is named; the others answered.
      expect(err.message).toBe(`registry check failed: prod.example: ${c.fault.message}`);
    }
  });

  it('a policy key that does not load fails Setup, not Validate later: the bundle is refused naming the project and the key, before any request', async () => {
    const world = new World();
    const bad = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n';
    const run = world.run(world.input([project({ name: 'broken', images: [IMAGE], signatures: { mode: 'require', keys: [bad] } })]));
    const err = await failure(run.exec(run.worker.setup, [run.input]));
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toBe(
      `manifest bundle ${run.input.bundleKey}: invalid manifest bundle: manifests/broken/promoter-manifest.yaml: projects[0].signatures.keys[0]: a PEM public key that parses, normalized as the loader writes it`,
    );
    expect(world.registry.requests).toEqual([]);
  });

  it('a confirmed run needs the signing key; a dry run does not', async () => {
    const world = new World({ env: { PROMOTER_SIGNING_KEY: '/nonexistent/promoter.key' } });
    const confirmed = world.run(world.input([project({ images: [IMAGE] })]));
    const err = await failure(confirmed.exec(confirmed.worker.setup, [confirmed.input]));
    expect(err).toMatchObject({ type: 'ConfigError', nonRetryable: true });
    expect(err.message).toBe('signing key /nonexistent/promoter.key cannot be read: ENOENT');

    const dry = world.run(world.input([project({ images: [IMAGE] })], { confirm: false }));
    await expect(dry.exec(dry.worker.setup, [dry.input])).resolves.toMatchObject({ projects: 1 });
  });
});
