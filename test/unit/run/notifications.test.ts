// distribution's notification envelopes: only well-formed tag pushes come out.
import { describe, expect, it } from 'vitest';
import { pushesOf } from '../../../lib/run/notifications';
import { authorized } from '../../../client/commands/audit-receiver';

const digest = `sha256:${'ab'.repeat(32)}`;
const push = (target: Record<string, unknown>, action = 'push') => ({
  action,
  target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, repository: 'team/app', ...target },
  request: { host: 'seen.example:5000' },
});

describe('notification envelopes', () => {
  it('passes on tag pushes, with the host the endpoint names over the one the request saw', () => {
    const body = { events: [push({ tag: 'v1' }), push({}), push({ tag: 'v1' }, 'pull')] };
    expect(pushesOf(body, 'prod.example:5002')).toEqual({ pushes: [{ host: 'prod.example:5002', repository: 'team/app', tag: 'v1', digest }], dropped: 2 });
    expect(pushesOf(body).pushes[0]!.host).toBe('seen.example:5000');
  });

  it('drops malformed names, tags and digests', () => {
    const bad = [
      push({ tag: '../x' }),
      push({ tag: 'v1', repository: 'Team/App' }),
      push({ tag: 'v1', digest: 'sha256:zz' }),
      push({ tag: 'x'.repeat(129) }),
      null,
      7,
    ];
    expect(pushesOf({ events: bad })).toEqual({ pushes: [], dropped: bad.length });
    expect(() => pushesOf({ nope: [] })).toThrow(/no events array/);
  });

  it('accepts only the configured secret', () => {
    expect(authorized('Bearer s3cret', 's3cret')).toBe(true);
    expect(authorized('Bearer s3cre', 's3cret')).toBe(false);
    expect(authorized(undefined, 's3cret')).toBe(false);
  });
});
