// Manifest library: strict loading of kpromo manifests (plain and thin layouts)
// into the normalized bundle the rest of the promoter works from.
export * from './bundle';
export { ManifestBundleError, parseManifestBundle } from './parse-bundle';
export * from './types';
export { countBundle, countProject } from './counts';
export { loadPlainManifest } from './plain';
export { loadThinManifests } from './thin';
export { loadImagesFile } from './images-file';
export { IMAGE_NAME_RE, isRegistryName } from './patterns';
export { disallowedRegistries, formatFinding } from './allowed-registries';
export { MAX_ALIAS_COUNT, MAX_YAML_DEPTH } from './yaml-source';
