// Types of build-state.js for the TypeScript that imports it (scripts/build.ts).
export interface BuildInfo {
  name: string;
  version: string;
  buildId: string;
  commit?: string;
  dirty?: boolean;
  sourceHash: string;
  builtAt: string;
}
export function hasSources(root: string): boolean;
export function sourceHash(root: string): string;
export function buildIsFresh(root: string): boolean;
export function withBuildLock<T>(root: string, fn: () => Promise<T>): Promise<T>;
