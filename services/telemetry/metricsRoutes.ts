import type { BatchObservableCallback } from '@opentelemetry/api';
import type { RouteModule } from '../http/app.ts';
import { projectionsStatus } from '../operations/projectionOperations.ts';
import type { ProjectionsReport } from '../projector/projectionStatus.ts';
import { currentTelemetry } from './activeTelemetry.ts';
import { instruments } from './instruments.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// GET /metrics: Prometheus text. Public, like the health probes (counts and latencies only: no
// ids, no payloads); put it behind the network boundary the scraper sits in.
//
// Lag and parked counts are read from the store (and in Kafka mode the consumer group's offsets)
// at scrape time, so they are right whichever process runs the projectors (this one, or
// `ledger projections run` elsewhere).
export const metricsRoutes: RouteModule = (scope, { db, config }) => {
  const { meter, projectionLagEvents, projectionLagSeconds, parkedEvents, fenceHeldEvents } = instruments();
  const observe: BatchObservableCallback = async (observer) => {
    let status: ProjectionsReport;
    try {
      status = await projectionsStatus(db.sql, config);
    } catch {
      // Store (or, in Kafka mode, the broker) unreachable: the gauges go missing for this scrape (Prometheus sees stale series),
      // rather than reporting a made-up zero lag.
      return;
    }
    for (const projection of status.projections) {
      const attributes = { read_model: projection.name };
      observer.observe(projectionLagEvents, projection.lagEvents, attributes);
      observer.observe(projectionLagSeconds, projection.lagSeconds, attributes);
      observer.observe(parkedEvents, projection.parked, attributes);
    }
    observer.observe(fenceHeldEvents, status.fenceHeldEvents);
  };
  const gauges = [projectionLagEvents, projectionLagSeconds, parkedEvents, fenceHeldEvents];
  meter.addBatchObservableCallback(observe, gauges);
  scope.addHook('onClose', async () => meter.removeBatchObservableCallback(observe, gauges));

  scope.get('/metrics', async (_request, reply) => {
    const text = (await currentTelemetry()?.metricsText()) ?? '# telemetry is not started in this process\n';
    return reply.type(PROMETHEUS_CONTENT_TYPE).header('cache-control', 'no-store').send(text);
  });
};
