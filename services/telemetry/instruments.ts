import { createNoopMeter, type Counter, type Gauge, type Histogram, type Meter, type ObservableGauge } from '@opentelemetry/api';
import { METRICS, type MetricDefinition } from './metricCatalog.ts';

// The metrics API has no proxy meter: an instrument made before the SDK registers its meter
// provider stays a no-op forever. So instruments are (re)made when telemetry starts, and code
// reaches them through `instruments()` instead of holding its own references.

export interface LedgerInstruments {
  meter: Meter;
  webhookDeliveries: Counter;
  unmatchedRetries: Counter;
  httpRequestDuration: Histogram;
  appendDuration: Histogram;
  appendGrouping: Counter;
  eventsAppended: Counter;
  manualOverrides: Counter;
  syncLatency: Histogram;
  projectionBatches: Counter;
  projectionLagEvents: ObservableGauge;
  projectionLagSeconds: ObservableGauge;
  parkedEvents: ObservableGauge;
  fenceHeldEvents: ObservableGauge;
  ticketEvents: Counter;
  ticketFailureStreak: Gauge;
}

const options = (metric: MetricDefinition) => ({
  description: metric.description,
  unit: metric.unit,
  ...(metric.buckets ? { advice: { explicitBucketBoundaries: [...metric.buckets] } } : {}),
});

function createInstruments(meter: Meter): LedgerInstruments {
  const counter = (m: MetricDefinition) => meter.createCounter(m.name, options(m));
  const histogram = (m: MetricDefinition) => meter.createHistogram(m.name, options(m));
  const observed = (m: MetricDefinition) => meter.createObservableGauge(m.name, options(m));
  return {
    meter,
    webhookDeliveries: counter(METRICS.webhookDeliveries),
    unmatchedRetries: counter(METRICS.unmatchedRetries),
    httpRequestDuration: histogram(METRICS.httpRequestDuration),
    appendDuration: histogram(METRICS.appendDuration),
    appendGrouping: counter(METRICS.appendGrouping),
    eventsAppended: counter(METRICS.eventsAppended),
    manualOverrides: counter(METRICS.manualOverrides),
    syncLatency: histogram(METRICS.syncLatency),
    projectionBatches: counter(METRICS.projectionBatches),
    projectionLagEvents: observed(METRICS.projectionLagEvents),
    projectionLagSeconds: observed(METRICS.projectionLagSeconds),
    parkedEvents: observed(METRICS.parkedEvents),
    fenceHeldEvents: observed(METRICS.fenceHeldEvents),
    ticketEvents: counter(METRICS.ticketEvents),
    ticketFailureStreak: meter.createGauge(METRICS.ticketFailureStreak.name, options(METRICS.ticketFailureStreak)),
  };
}

let current = createInstruments(createNoopMeter());

export const instruments = (): LedgerInstruments => current;

export function bindInstruments(meter: Meter | undefined): void {
  current = createInstruments(meter ?? createNoopMeter());
}
