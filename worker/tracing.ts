/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set.
 * Then a run is one trace: the workflow's span (made in the workflow sandbox and exported through
 * the `exporter` sink), a span per activity, so per phase and per Promote batch (Temporal's
 * interceptors carry the context from workflow to activity in headers), and under each activity
 * a span per registry request, made from the registry client's request events. Spans go out
 * over OTLP/HTTP; the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself.
 *
 * The workflow interceptors are in every bundle (workflows/location.ts); without an endpoint the
 * sink drops their spans, so traced and untraced workers run the same workflow code.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { RegistryTelemetry } from '../activities/shared/registry-adapter';
import type { PromoterConfig } from '../lib/config';

export interface Tracing {
  enabled: boolean;
  activityInterceptors: ActivityInterceptorsFactory[];
  sinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
  /** Flushes the spans not yet exported. */
  shutdown(): Promise<void>;
}

const dropSpans: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> = { exporter: { export: { fn: () => {} } } };

export function setUpTracing(config: PromoterConfig, registry: Pick<RegistryTelemetry, 'onRequest'>, service: { version: string; instance: string }): Tracing {
  if (!config.tracing.endpoint) return { enabled: false, activityInterceptors: [], sinks: dropSpans, shutdown: async () => {} };
  const resource = new Resource({ 'service.name': config.tracing.serviceName, 'service.version': service.version, 'service.instance.id': service.instance });
  const processor = new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 1_000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register(); // the global tracer and the AsyncLocalStorage context the activity spans live in
  const tracer = provider.getTracer('promoter');

  // A span per registry request, under the activity that made it (the active context when the
  // request ends). Requests outside any traced activity would each be a trace of their own: none.
  registry.onRequest((e) => {
    const parent = context.active();
    if (!trace.getSpan(parent)) return;
    const end = Date.now();
    const span = tracer.startSpan(
      `${e.method} ${e.operation}`,
      {
        kind: SpanKind.CLIENT,
        startTime: end - e.durationMs,
        attributes: {
          'http.request.method': e.method,
          'server.address': e.host,
          'url.path': e.path,
          'http.response.status_code': e.status,
          'promoter.registry.operation': e.operation,
        },
      },
      parent,
    );
    if (e.status === 0 || e.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: e.status === 0 ? 'no response' : `HTTP ${e.status}` });
    span.end(end);
  });

  return {
    enabled: true,
    activityInterceptors: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    ],
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    shutdown: () => provider.shutdown(),
  };
}
