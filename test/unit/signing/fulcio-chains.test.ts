// Fulcio's CA chain (the legacy signature's chain annotation) is asked once per Fulcio URL by its
// holder, with the fetch it was given; a Fulcio that says nothing is asked again next time.
import { describe, expect, it } from 'vitest';
import { FulcioChains, keylessConfig } from '../../../lib/signing';

const config = (fulcioURL: string) => keylessConfig({ fulcioURL, rekorURL: 'http://rekor.example', oidcTokenSource: 'env:UNUSED' });
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
const urlOf = (input: string | URL | Request): string => (input instanceof Request ? input.url : input.toString());

describe('FulcioChains', () => {
  it('asks each Fulcio once, and again only after an empty or failed answer', async () => {
    const asked: string[] = [];
    let answer: 'chain' | 'empty' | 'down' = 'empty';
    const chains = new FulcioChains(async (input) => {
      asked.push(urlOf(input));
      if (answer === 'down') throw new Error('ECONNREFUSED');
      return Response.json(answer === 'chain' ? { chains: [{ certificates: [PEM, `${PEM}\n`] }] } : {});
    });
    const a = config('http://fulcio-a.example/');
    expect(await chains.of(a)).toBe('');
    answer = 'down';
    expect(await chains.of(a)).toBe('');
    answer = 'chain';
    expect(await chains.of(a)).toBe(`${PEM}\n${PEM}\n`);
    expect(await chains.of(a)).toBe(`${PEM}\n${PEM}\n`);
    expect(await chains.of(config('http://fulcio-b.example'))).toBe(`${PEM}\n${PEM}\n`);
    const bundleOf = (host: string) => `http://${host}/api/v2/trustBundle`;
    expect(asked).toEqual([bundleOf('fulcio-a.example'), bundleOf('fulcio-a.example'), bundleOf('fulcio-a.example'), bundleOf('fulcio-b.example')]);
    // Another holder (another worker) keeps its own.
    await new FulcioChains(async (input) => (asked.push(urlOf(input)), Response.json({}))).of(a);
    expect(asked).toHaveLength(5);
  });
});
