// A Temporal client for tests that inspect runs directly (describe, history, results), plus the
// worker processes a test starts, all closed or killed when the file's tests are done.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll } from 'vitest';
import { stack } from './stack-env';
import type { WorkerProcess } from './worker-process';

export interface TemporalFixture {
  /** Ready inside tests (connected in beforeAll). */
  client: Client;
  /** Worker processes to SIGKILL after the file's tests. */
  workers: WorkerProcess[];
}

export function useTemporal(): TemporalFixture {
  const fixture = { workers: [] as WorkerProcess[] } as unknown as TemporalFixture;
  let connection: Connection | undefined;
  beforeAll(async () => {
    connection = await Connection.connect({ address: stack().temporal.address });
    fixture.client = new Client({ connection });
  });
  afterAll(async () => {
    for (const w of fixture.workers) await w.kill();
    await connection?.close();
  });
  return fixture;
}
