// Manifest library: strict loading of kpromo manifests (plain and thin layouts)
// into the normalized bundle the rest of the promoter works from.
export * from './bundle';
export * from './types';
export { countBundle, countProject, countUniqueEdges } from './counts';
export { loadPlainManifest } from './plain';
export { loadThinManifests, THIN_IMAGES_FILE, THIN_MANIFEST_FILE } from './thin';
export { loadImagesFile, type ImagesFile } from './images-file';
export { DIGEST_RE, IMAGE_NAME_RE, REGISTRY_NAME_RE, TAG_RE, isRegistryName } from './patterns';
export { checkPublicKeyPem } from './public-keys';
export { MAX_ALIAS_COUNT } from './yaml-source';
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
