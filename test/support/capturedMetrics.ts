import { metrics } from '@opentelemetry/sdk-node';
import { bindInstruments } from '../../services/telemetry/instruments.ts';

class CollectOnDemand extends metrics.MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface CapturedMetrics {
  // A counter's cumulative value over the data points whose attributes include `attributes`.
  counter(name: string, attributes?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

// The service's instruments bound to an in-memory meter for one test file (no SDK, no exporter).
export function captureMetrics(): CapturedMetrics {
  const reader = new CollectOnDemand();
  const provider = new metrics.MeterProvider({ readers: [reader] });
  bindInstruments(provider.getMeter('test'));
  return {
    async counter(name, attributes = {}) {
      const { resourceMetrics } = await reader.collect();
      let total = 0;
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue;
          for (const point of metric.dataPoints) {
            if (Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)) total += point.value as number;
          }
        }
      }
      return total;
    },
    async stop() {
      bindInstruments(undefined);
      await provider.shutdown();
    },
  };
}
