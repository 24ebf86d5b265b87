// How other clients (skopeo, cosign) get the same trust as the promoter: the stack's certs.d
// folder for the HTTPS services, plain HTTP only for the loopback registries that do not speak TLS.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stackPaths } from './paths';
import { tlsFiles } from './tls';

/**
 * skopeo flags for one registry host. With a certs.d entry: `--cert-dir` (verification on). Without
 * one the stack serves that host over plain HTTP, which skopeo speaks only with verification off.
 */
export function skopeoTlsFlags(host: string, side?: 'src' | 'dest', certsDir: string = stackPaths.certsDir): string[] {
  const prefix = side ? `--${side}-` : '--';
  const dir = join(certsDir, host);
  return existsSync(dir) ? [`${prefix}cert-dir=${dir}`] : [`${prefix}tls-verify=false`];
}

/**
 * cosign flags to reach the stack's registries: the stack CA for the HTTPS ones, plain HTTP allowed
 * for the others (cosign tries HTTPS first, like the promoter).
 */
export function cosignRegistryFlags(): string[] {
  return [`--registry-cacert=${tlsFiles.caCert}`, '--allow-http-registry'];
}
