// The grammars every manifest value is checked against. Kept in one place so the
// schemas, the lenient salvage pass and the bundle schema cannot drift apart. Digests and
// tags are the registry client's own grammars: one definition for the whole promoter.
export { DIGEST_RE, TAG_RE } from '../oci/reference';

// One path component of an OCI repository name (distribution-spec):
// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*  — this admits `python_runtime_sandbox`.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';

/** An image name (a repository path below the registry prefix). */
export const IMAGE_NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

// A registry host: DNS labels (any case, as in the docker reference grammar),
// an IPv4 address, or a bracketed IPv6 literal; then an optional port.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST = `(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])`;

/** A registry name: host[:port][/path], path components in repository grammar. */
const REGISTRY_NAME_RE = new RegExp(`^${HOST}(?::(?<port>[0-9]{1,5}))?(?:/${COMPONENT})*$`);

/** True when `name` is a registry name with a port in range (the regex cannot say that). */
export function isRegistryName(name: string): boolean {
  const m = REGISTRY_NAME_RE.exec(name);
  if (!m) return false;
  const port = m.groups?.port;
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}
