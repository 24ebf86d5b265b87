/**
 * distribution's notification envelopes (docs: "Notifications", `application/vnd.docker.distribution.events.v1+json`):
 * the pushes the audit receiver passes on. Hostile input like everything from a registry: only
 * well-formed manifest pushes with a tag come out, everything else is dropped and counted.
 */
import type { PushEvent } from './audit';

const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;
// The distribution spec's name and tag grammars (lower-case path components, a 128-character tag).
const REPOSITORY = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

interface RawEvent {
  action?: unknown;
  target?: { repository?: unknown; digest?: unknown; tag?: unknown; url?: unknown };
  request?: { host?: unknown };
}

/**
 * The tag pushes of an envelope. `registry`: the host the receiver was told this endpoint serves
 * (the endpoint URL's `registry` parameter); without it, the host the registry saw the request for.
 */
export function pushesOf(body: unknown, registry?: string): { pushes: PushEvent[]; dropped: number } {
  const events = (body as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) throw new Error('not a notification envelope: no events array');
  const pushes: PushEvent[] = [];
  let dropped = 0;
  for (const raw of events as RawEvent[]) {
    const t = raw?.target;
    const host = registry ?? raw?.request?.host;
    if (raw?.action !== 'push' || !t || typeof t.tag !== 'string' || !TAG.test(t.tag)) {
      dropped++;
      continue;
    }
    if (
      typeof host !== 'string' ||
      !HOST.test(host) ||
      typeof t.repository !== 'string' ||
      t.repository.length > 255 ||
      !REPOSITORY.test(t.repository) ||
      typeof t.digest !== 'string' ||
      !DIGEST.test(t.digest)
    ) {
      dropped++;
      continue;
    }
    pushes.push({ host, repository: t.repository, tag: t.tag, digest: t.digest });
  }
  return { pushes, dropped };
}
