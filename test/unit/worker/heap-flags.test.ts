import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WORKER_HEAP_FLAGS, workerHeapArgs } from '../../../worker/heap-flags';

describe('workerHeapArgs', () => {
  it('puts the worker heap flags before the flags the worker was started with', () => {
    expect(workerHeapArgs(['--enable-source-maps'], undefined)).toEqual([...WORKER_HEAP_FLAGS, '--enable-source-maps']);
  });

  it('leaves a worker alone that was already re-executed', () => {
    expect(workerHeapArgs([...WORKER_HEAP_FLAGS, '--enable-source-maps'], '')).toBeUndefined();
  });

  it("keeps the operator's own choice, on the command line or in NODE_OPTIONS, in either spelling", () => {
    expect(workerHeapArgs(['--max-semi-space-size=64'], undefined)).toBeUndefined();
    expect(workerHeapArgs(['--heap-growing-percent=50'], undefined)).toBeUndefined();
    expect(workerHeapArgs([], '--max-old-space-size=4096 --max_semi_space_size=8')).toBeUndefined();
  });

  it('does not take another flag for one of its own', () => {
    expect(workerHeapArgs(['--max-old-space-size=4096'], '--max-semi-space-size-other')).toEqual([...WORKER_HEAP_FLAGS, '--max-old-space-size=4096']);
  });

  it('names flags this Node.js accepts', () => {
    // A flag V8 does not know would stop every worker at start.
    const out = execFileSync(process.execPath, [...WORKER_HEAP_FLAGS, '-p', '1+1'], { encoding: 'utf8' });
    expect(out.trim()).toBe('2');
  });
});
