// Builds a small promotion scenario on the real dev-stack registries: seeded staging images,
// some already in production, a tag that would have to move, and a digest staging never had.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyImage, RegistryClient } from '../../lib/oci';
import { pushRandomImage } from '../../scripts/dev/seed-images';
import { stack, uniqueName } from './stack-env';

export const LOST_DIGEST = `sha256:${'de'.repeat(32)}`;

export interface Scenario {
  prefix: string;
  client: RegistryClient;
  manifestFile: string;
  digests: { a: string; b: string; bChildren: string[]; c: string; other: string };
  staging: string;
  production: string;
  mirror: string;
  mirrorA: string;
}

/**
 * images: a {A: v1} (already in production), b {B (multi-arch): v2}, c {C: v3} (production's v3 is
 * another image: a tag move), gone {LOST: v9}; destinations: production (basic auth), mirror-a
 * (anonymous) and mirror-b (token auth). 12 edges: 1 present, 1 tag move, 3 lost, 7 to promote.
 */
export async function buildScenario(extraManifest = ''): Promise<Scenario> {
  const s = stack();
  const prefix = uniqueName('it');
  const client = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
  const staging = s.registries.staging;
  const production = s.registries.production;
  const mirror = s.registries.all.mirrorB;
  const mirrorA = s.registries.all.mirrorA;
  const a = await pushRandomImage(client, staging, `${prefix}/a`, { seed: `${prefix}/a`, layers: 2, layerSize: 2048 });
  const b = await pushRandomImage(client, staging, `${prefix}/b`, {
    seed: `${prefix}/b`,
    layers: 1,
    layerSize: 2048,
    platforms: ['linux/amd64', 'linux/arm64'],
  });
  const c = await pushRandomImage(client, staging, `${prefix}/c`, { seed: `${prefix}/c`, layers: 1, layerSize: 1024 });
  await copyImage(client, { host: staging, repository: `${prefix}/a`, digest: a.digest }, { host: production, repository: `${prefix}/a` }, { tags: ['v1'] });
  const other = await pushRandomImage(client, production, `${prefix}/c`, { seed: `${prefix}/c-other`, layers: 1, layerSize: 512, tag: 'v3' });

  const dir = await mkdtemp(join(tmpdir(), 'promoter-it-'));
  const manifestFile = join(dir, 'promoter-manifest.yaml');
  await writeFile(
    manifestFile,
    `registries:
  - name: ${staging}/${prefix}
    src: true
  - name: ${production}/${prefix}
  - name: ${mirrorA}/${prefix}
  - name: ${mirror}/${prefix}
${extraManifest}images:
  - name: a
    dmap:
      "${a.digest}": ["v1"]
  - name: b
    dmap:
      "${b.digest}": ["v2"]
  - name: c
    dmap:
      "${c.digest}": ["v3"]
  - name: gone
    dmap:
      "${LOST_DIGEST}": ["v9"]
`,
  );
  return {
    prefix,
    client,
    manifestFile,
    digests: { a: a.digest, b: b.digest, bChildren: b.children.map((x) => x.digest), c: c.digest, other: other.digest },
    staging,
    production,
    mirror,
    mirrorA,
  };
}
