// Where the workflow code lives, for whoever bundles or replays it (the worker, `promoter replay`,
// the replay tests, the build). Not imported by the workflows themselves: it uses node APIs.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = import.meta.url;

/** True when this module runs compiled (dist/), false from the TypeScript sources (tsx, vitest). */
export const COMPILED = here.endsWith('.js');

/** The workflow code's entry module: the TypeScript source, or its compiled JavaScript in dist/. */
export const WORKFLOWS_PATH = fileURLToPath(new URL(COMPILED ? './index.js' : './index.ts', here));

/** The prebuilt workflow bundle `npm run build` writes next to the compiled workflows. */
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL(COMPILED ? './bundle.js' : '../dist/workflows/bundle.js', here));

/**
 * Workflow interceptors every bundle carries: OpenTelemetry's, so that traced and untraced workers
 * of one build run the same workflow code; a worker without an OTLP endpoint drops their spans.
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [createRequire(here).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];
