// Manifest library: strict loading of kpromo manifests (plain and thin layouts)
// into the normalized bundle the rest of the promoter works from.
export * from './bundle';
export { ManifestBundleError, bundleRuleProblems, parseManifestBundle } from './parse-bundle';
export * from './types';
export { countBundle, countProject, countUniqueEdges } from './counts';
export { loadPlainManifest } from './plain';
export { loadThinManifests, THIN_IMAGES_FILE, THIN_MANIFEST_FILE } from './thin';
export { loadImagesFile, type ImagesFile } from './images-file';
export { DIGEST_RE, IMAGE_NAME_RE, REGISTRY_NAME_RE, TAG_RE, isRegistryName } from './patterns';
export { checkPublicKeyPem } from './public-keys';
export { disallowedRegistries, formatFinding, REGISTRY_NOT_ALLOWED } from './allowed-registries';
export { MAX_ALIAS_COUNT, MAX_YAML_DEPTH } from './yaml-source';
export { MAX_KEY_FILE_BYTES, MAX_MANIFEST_FILE_BYTES } from './read-bounded';
export {
  IdentitySchema,
  ImageSchema,
  ImagesFileSchema,
  PlainManifestSchema,
  ProvenancePolicySchema,
  RegistrySchema,
  SignaturePolicySchema,
  ThinManifestSchema,
} from './schemas';
