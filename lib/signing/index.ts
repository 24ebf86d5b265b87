// Signing and verification: cosign-compatible signatures and attestations.
export * from './errors';
export * from './signing-keys';
export * from './media-types';
export * from './oci-artifact';
export * from './simple-signing';
export * from './statements';
export * from './bundle';
export * from './dsse';
export * from './verify-signature';
export * from './verify-bundle';
export * from './verify-provenance';
export * from './keyless';
export * from './signature-store';
