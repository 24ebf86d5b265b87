// Plain-bytes OCI artifacts: what the signing library produces so that any
// registry client can push it (blobs first, then the manifest).
import { sha256Digest } from '../oci/digest';
import type { Descriptor, ImageManifest } from '../oci/media-types';

// The OCI shapes are the registry client's; the names below are what this library has used.
export type { Descriptor };
export type ImageManifestJson = ImageManifest;
export { sha256Digest };

export interface OciBlob {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface OciArtifact {
  /** Manifest bytes exactly as they must be pushed (the digest covers these bytes). */
  manifest: Buffer;
  mediaType: string;
  digest: string;
  /** Blobs referenced by the manifest that the writer knows; push them before the manifest. */
  blobs: OciBlob[];
  /** Tag to push the manifest under, for tag-addressed artifacts (`.sig`, fallback index). */
  tag?: string;
}

export function blobOf(bytes: Buffer, mediaType: string): OciBlob {
  return { digest: sha256Digest(bytes), mediaType, bytes };
}

export function descriptorOf(blob: OciBlob, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: blob.mediaType, size: blob.bytes.length, digest: blob.digest, ...extra };
}

/** Serialises a JSON value compactly, like Go's encoding/json (no spaces). */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Copies an object with its keys sorted, so the output matches Go's sorted map encoding. */
export function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function parseJson<T>(bytes: Buffer | string, what: string): T {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8')) as T;
  } catch {
    throw new Error(`${what}: not valid JSON`);
  }
}
