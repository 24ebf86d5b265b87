// A manifest tree the size of the real registry.k8s.io promotion (~1 M edges):
// loading stays linear, counts stay exact and a single bad line is still found.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadThinManifests } from '../../../lib/manifests';
import { findings, tempDir, writeTree } from './helpers';

const DESTINATIONS = 20;
const IMAGES = 2000;
const DIGESTS_PER_IMAGE = 25;
const digest = (i: number, d: number) => `sha256:${createHash('sha256').update(`${i}/${d}`).digest('hex')}`;

function bigTree(): { files: Record<string, string>; badLine: number; conflictLine: number } {
  const regs = ['registries:', '- name: us-central1-docker.pkg.dev/k8s-staging-images/big', '  src: true'];
  for (let r = 0; r < DESTINATIONS; r++) regs.push(`- name: region${r}-docker.pkg.dev/k8s-artifacts-prod/images/big`);
  const lines: string[] = [];
  let badLine = 0;
  let conflictLine = 0;
  for (let i = 0; i < IMAGES; i++) {
    lines.push(`- name: image-${i}`, '  dmap:');
    for (let d = 0; d < DIGESTS_PER_IMAGE; d++) {
      let dg = digest(i, d);
      let tag = `v1.${d}.0`;
      if (i === 1234 && d === 7) {
        dg = dg.slice(0, -1); // 63 hex digits
        badLine = lines.length + 1;
      }
      if (i === 1999 && d === 24) {
        tag = 'v1.0.0'; // already on digest 0 of this image
        conflictLine = lines.length + 1;
      }
      lines.push(`    "${dg}": ["${tag}"]`);
    }
  }
  return {
    files: {
      'manifests/big/promoter-manifest.yaml': `${regs.join('\n')}\n`,
      'images/big/images.yaml': `${lines.join('\n')}\n`,
    },
    badLine,
    conflictLine,
  };
}

describe('scale', () => {
  it('loads 50,000 digests x 20 destinations (1,000,000 edges) and finds the two bad lines', async () => {
    const { files, badLine, conflictLine } = bigTree();
    const root = await tempDir('scale-');
    await writeTree(root, files);
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([
      ['images/big/images.yaml', badLine, 'digest-format'],
      ['images/big/images.yaml', conflictLine, 'tag-conflict'],
    ]);
    // Best effort: the bad digest is left out, the conflicting tag still counted.
    expect(r.counts).toEqual({ projects: 1, images: IMAGES, digests: 49_999, tagPairs: 49_999, uniqueEdges: 49_999 * DESTINATIONS });

    // Fixed, the tree is valid and counts exactly 1 M edges.
    files['images/big/images.yaml'] = files['images/big/images.yaml']!.split('\n')
      .map((l, i) => (i + 1 === badLine ? l.replace(/": \[/, '0": [') : i + 1 === conflictLine ? l.replace('v1.0.0', 'v1.24.0') : l))
      .join('\n');
    await writeTree(root, files);
    const ok = await loadThinManifests(root);
    expect(ok.errors).toEqual([]);
    expect(ok.counts).toEqual({ projects: 1, images: IMAGES, digests: 50_000, tagPairs: 50_000, uniqueEdges: 1_000_000 });
  }, 120_000);
});
