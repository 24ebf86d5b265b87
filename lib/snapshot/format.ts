// A snapshot as text: kpromo's images.yaml (the default: it is a valid images file, evidence
// goes into comments), JSON, or CSV with one row per tag.
import type { DigestEvidence } from './evidence';
import type { Snapshot, SnapshotImage } from './read';

export const SNAPSHOT_FORMATS = ['yaml', 'json', 'csv'] as const;
export type SnapshotFormat = (typeof SNAPSHOT_FORMATS)[number];

type Image = SnapshotImage & { evidence?: Record<string, DigestEvidence> };

export function formatSnapshot(snapshot: Snapshot & { images: Image[] }, format: SnapshotFormat): string {
  if (format === 'json') return `${JSON.stringify({ registry: snapshot.registry, images: snapshot.images }, null, 2)}\n`;
  if (format === 'csv') return csv(snapshot.images);
  return yaml(snapshot.images);
}

/** Names, digests and tags are of the OCI grammars (checked when read): no YAML quoting beyond kpromo's. */
function yaml(images: Image[]): string {
  if (images.length === 0) return '[]\n';
  const lines: string[] = [];
  for (const img of images) {
    lines.push(`- name: ${img.name}`, '  dmap:');
    for (const [digest, tags] of Object.entries(img.dmap)) {
      const e = img.evidence?.[digest];
      const note = e ? `  # signature: ${e.signature}, attestation: ${e.attestation}` : '';
      lines.push(`    "${digest}": [${tags.map((t) => `"${t}"`).join(', ')}]${note}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function csv(images: Image[]): string {
  const withEvidence = images.some((i) => i.evidence);
  const rows = [withEvidence ? 'name,digest,tag,signature,attestation' : 'name,digest,tag'];
  for (const img of images) {
    for (const [digest, tags] of Object.entries(img.dmap)) {
      const e = img.evidence?.[digest];
      for (const tag of tags) rows.push([img.name, digest, tag, ...(withEvidence ? [e?.signature ?? '', e?.attestation ?? ''] : [])].join(','));
    }
  }
  return `${rows.join('\n')}\n`;
}
