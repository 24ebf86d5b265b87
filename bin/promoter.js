#!/usr/bin/env node
// The `promoter` command: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/cli.ts');
process.exit(await main(process.argv));
