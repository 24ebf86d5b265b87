import { describe, expect, it } from 'vitest';
import { errorFromResponse, OciError, parseErrorBody } from '../../../lib/oci/errors';

describe('registry error bodies', () => {
  it('parses the errors array', () => {
    expect(parseErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}')).toEqual([
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } },
    ]);
    expect(parseErrorBody('<html>bad gateway</html>')).toEqual([]);
    expect(parseErrorBody('')).toEqual([]);
  });
  it('maps a registry code to a typed, non-retryable error with context', () => {
    const e = errorFromResponse(404, '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}', {
      registry: 'r:1',
      repository: 'a/b',
      operation: 'list tags',
    });
    expect(e).toBeInstanceOf(OciError);
    expect(e).toMatchObject({ code: 'NAME_UNKNOWN', status: 404, retryable: false, registry: 'r:1', repository: 'a/b' });
    expect(e.message).toContain('r:1/a/b');
  });
  it('falls back to the status when the body says nothing', () => {
    expect(errorFromResponse(429, '', { registry: 'r', operation: 'x' })).toMatchObject({ code: 'TOOMANYREQUESTS', retryable: true });
    expect(errorFromResponse(503, 'oops', { registry: 'r', operation: 'x' })).toMatchObject({ code: 'SERVER_ERROR', retryable: true });
    expect(errorFromResponse(404, '', { registry: 'r', operation: 'GET manifest' })).toMatchObject({ code: 'MANIFEST_UNKNOWN', retryable: false });
    expect(errorFromResponse(404, '', { registry: 'r', operation: 'HEAD blob' })).toMatchObject({ code: 'BLOB_UNKNOWN' });
    expect(errorFromResponse(403, '', { registry: 'r', operation: 'x' })).toMatchObject({ code: 'DENIED', retryable: false });
  });
  it('a 5xx stays retryable whatever code the body carries', () => {
    expect(errorFromResponse(500, '{"errors":[{"code":"UNKNOWN","message":"boom"}]}', { registry: 'r', operation: 'x' }).retryable).toBe(true);
  });
});
