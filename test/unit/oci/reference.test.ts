import { describe, expect, it } from 'vitest';
import { formatReference, isLoopbackHost, normalizeHost, normalizeRegistry, parseReference } from '../../../lib/oci/reference';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseReference', () => {
  it('parses host with port, nested path, tag and digest', () => {
    expect(parseReference(`127.0.0.1:5001/team/app/web:v1.2@${D}`)).toEqual({ host: '127.0.0.1:5001', repository: 'team/app/web', tag: 'v1.2', digest: D });
  });
  it('parses a tag only, a digest only and neither', () => {
    expect(parseReference('registry.k8s.io/pause:3.9')).toEqual({ host: 'registry.k8s.io', repository: 'pause', tag: '3.9' });
    expect(parseReference(`localhost:5000/a@${D}`)).toEqual({ host: 'localhost:5000', repository: 'a', digest: D });
    expect(parseReference('gcr.io/x/y')).toEqual({ host: 'gcr.io', repository: 'x/y' });
  });
  it('keeps a port colon apart from a tag colon', () => {
    expect(parseReference('example.com:443/repo')).toEqual({ host: 'example.com:443', repository: 'repo' });
    expect(parseReference('[::1]:5000/repo:t')).toEqual({ host: '[::1]:5000', repository: 'repo', tag: 't' });
  });
  it('normalises Docker Hub short names', () => {
    expect(parseReference('busybox')).toEqual({ host: 'docker.io', repository: 'library/busybox' });
    expect(parseReference('me/tool:1')).toEqual({ host: 'docker.io', repository: 'me/tool', tag: '1' });
    expect(parseReference('index.docker.io/me/tool')).toEqual({ host: 'docker.io', repository: 'me/tool' });
  });
  it('rejects bad digests, tags and names', () => {
    expect(() => parseReference('h.io/a@sha256:abc')).toThrow(/digest/);
    expect(() => parseReference(`h.io/a:-bad`)).toThrow(/tag/);
    expect(() => parseReference('h.io/Upper')).toThrow(/repository/);
    expect(() => parseReference('')).toThrow();
  });
  it('round-trips through formatReference', () => {
    for (const s of [`127.0.0.1:5002/a/b:c@${D}`, 'h.io/x:y', `h.io/x@${D}`, 'h.io/x']) expect(formatReference(parseReference(s))).toBe(s);
  });
});

describe('isLoopbackHost', () => {
  it('accepts 127/8, localhost and ::1 only', () => {
    expect(isLoopbackHost('127.0.0.1:5001')).toBe(true);
    expect(isLoopbackHost('127.9.8.7')).toBe(true);
    expect(isLoopbackHost('localhost:80')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
    expect(isLoopbackHost('127.0.0.1.evil.com')).toBe(false);
    expect(isLoopbackHost('registry.k8s.io')).toBe(false);
  });
});

describe('normalizeHost, normalizeRegistry: one spelling per registry', () => {
  it.each([
    ['Reg.Example.com', 'reg.example.com'],
    ['reg.example.com:443', 'reg.example.com'],
    ['REG.EXAMPLE.COM:0443', 'reg.example.com'],
    ['reg.example.com:05000', 'reg.example.com:5000'],
    ['reg.example.com:80', 'reg.example.com:80'],
    ['127.0.0.1:5002', '127.0.0.1:5002'],
    ['LocalHost:5000', 'localhost:5000'],
    ['[::1]:443', '[::1]'],
    ['[FE80::1]:5000', '[fe80::1]:5000'],
    ['[::443]', '[::443]'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io:443', 'docker.io'],
    ['Docker.IO', 'docker.io'],
    ['index.docker.io:5000', 'index.docker.io:5000'],
  ])('%s -> %s', (host, want) => {
    expect(normalizeHost(host)).toBe(want);
    expect(normalizeHost(want)).toBe(want);
  });

  it('keeps the path of a registry name as written (its grammar is lower case already)', () => {
    expect(normalizeRegistry('US-Central1-Docker.pkg.dev:443/k8s-artifacts-prod/images')).toBe('us-central1-docker.pkg.dev/k8s-artifacts-prod/images');
    expect(normalizeRegistry('gcr.io')).toBe('gcr.io');
    expect(normalizeRegistry('127.0.0.1:5001/staging')).toBe('127.0.0.1:5001/staging');
  });
});
