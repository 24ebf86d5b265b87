// Snapshots: what a registry holds under a prefix (names, digests, tags), read by the OCI API
// from the caller's process with lib/oci, optionally with each digest's promoter signature and
// attestation checked by lib/signing. No Temporal: `promoter snapshot` runs it directly.
export * from './read';
export * from './evidence';
export * from './format';
