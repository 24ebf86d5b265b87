// Where the workflow code lives, for whoever bundles or replays it (the worker, `promoter replay`,
// the replay tests). Not imported by the workflows themselves: it uses node APIs.
import { fileURLToPath } from 'node:url';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./index.ts', import.meta.url));
