// Registry names are host[:port][/prefix]; an image lives at <prefix>/<image> on that host.

export interface RegistryParts {
  /** host[:port], e.g. "127.0.0.1:5001" or "gcr.io". */
  host: string;
  /** Path below the host, "" when the registry name is a bare host. */
  prefix: string;
}

export function splitRegistry(registry: string): RegistryParts {
  const slash = registry.indexOf('/');
  return slash < 0 ? { host: registry, prefix: '' } : { host: registry.slice(0, slash), prefix: registry.slice(slash + 1) };
}

export interface ImageRef {
  host: string;
  /** Repository name on `host`, as used in /v2/<repository>/... */
  repository: string;
}

/** `imageRef("127.0.0.1:5001/staging", "foo")` is `{ host: "127.0.0.1:5001", repository: "staging/foo" }`. */
export function imageRef(registry: string, image: string): ImageRef {
  const { host, prefix } = splitRegistry(registry);
  return { host, repository: prefix === '' ? image : `${prefix}/${image}` };
}
