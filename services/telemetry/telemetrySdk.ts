import { context, metrics, propagation, ROOT_CONTEXT, trace, type ContextManager } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { NodeSDK, resources } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { currentTelemetry, setCurrentTelemetry, type Telemetry } from './activeTelemetry.ts';
import { bindInstruments } from './instruments.ts';
import { SERVICE_NAME } from './semconv.ts';

// OpenTelemetry for this process, configured by the standard OTEL_* variables:
// - traces are exported only when asked (OTEL_TRACES_EXPORTER or an OTLP endpoint is set),
//   so the embedded default and the tests open no connection to a collector that is not there;
//   without an exporter no tracer provider is registered and spans cost next to nothing, while
//   trace context still flows from an inbound traceparent into event metadata;
// - metrics are always collected for GET /metrics (Prometheus text, pulled, nothing pushed);
// - OTEL_SDK_DISABLED=true turns all of it off (the bench's "telemetry off").

export interface TelemetryOptions {
  // Tests: an in-memory exporter's processor. Overrides the OTEL_* trace export settings.
  spanProcessors?: SpanProcessor[];
  env?: Record<string, string | undefined>;
}

// The API's default behaviour, registered explicitly so the SDK does not install its
// AsyncLocalStorage manager: the active context is always the root.
const explicitParentsOnly: ContextManager = {
  active: () => ROOT_CONTEXT,
  with: (_context, fn, thisArg, ...args) => fn.call(thisArg, ...args),
  bind: (_context, target) => target,
  enable() {
    return this;
  },
  disable() {
    return this;
  },
};

const isSet = (value: string | undefined): boolean => value !== undefined && value.trim() !== '';

export function traceExportRequested(env: Record<string, string | undefined>): boolean {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === 'none') return false;
  return isSet(exporter) || isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT) || isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

// Idempotent: `node --import services/telemetry/preload.ts` and `ledger serve` may both call it.
export function startTelemetry(options: TelemetryOptions = {}): Telemetry {
  const existing = currentTelemetry();
  if (existing) return existing;
  const env = options.env ?? process.env;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') {
    const off: Telemetry = {
      enabled: false,
      tracesExported: false,
      metricsText: async () => '# telemetry is off (OTEL_SDK_DISABLED=true)\n',
      stop: async () => setCurrentTelemetry(undefined),
    };
    setCurrentTelemetry(off);
    return off;
  }

  // Served by the app's own GET /metrics route, not by a second listening port.
  const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  const tracesExported = options.spanProcessors !== undefined || traceExportRequested(env);
  const sdk = new NodeSDK({
    // Only names, never what `process` would add (command line, owner, executable path).
    ...(isSet(env.OTEL_NODE_RESOURCE_DETECTORS) ? {} : { resourceDetectors: [resources.envDetector, resources.hostDetector] }),
    ...(isSet(env.OTEL_SERVICE_NAME) ? {} : { serviceName: SERVICE_NAME }),
    metricReaders: [prometheus],
    // Undefined lets the SDK build exporters from OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_*.
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : tracesExported ? {} : { spanProcessors: [] }),
    // Logs go to stdout as JSON (pino); an OTLP log exporter only when explicitly asked.
    ...(isSet(env.OTEL_LOGS_EXPORTER) ? {} : { logRecordProcessors: [] }),
    instrumentations: [],
    // No AsyncLocalStorage: spans get their parents explicitly (services/telemetry/tracer.ts).
    contextManager: explicitParentsOnly,
  });
  sdk.start();
  bindInstruments(metrics.getMeter(SERVICE_NAME));

  const telemetry: Telemetry = {
    enabled: true,
    tracesExported,
    async metricsText() {
      const { resourceMetrics } = await prometheus.collect();
      return serializer.serialize(resourceMetrics);
    },
    async stop() {
      setCurrentTelemetry(undefined);
      await sdk.shutdown().catch(() => {});
      bindInstruments(undefined);
      // So a later start (the next test) can register its own providers.
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
  setCurrentTelemetry(telemetry);
  return telemetry;
}

export async function stopTelemetry(): Promise<void> {
  await currentTelemetry()?.stop();
}
