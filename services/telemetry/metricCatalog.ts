// Every metric the service emits, by its Prometheus name. The names carry the unit suffix
// themselves (the Prometheus exporter adds `_total` to counters but no unit suffix), so the
// name in an alert rule is the name here plus `_total`, or `_bucket` / `_count` / `_sum`.
// test/unit/alertRules.unit.test.ts holds deploy/prometheus/alerts.yml to this list.

export type MetricKind = 'counter' | 'histogram' | 'gauge';

export interface MetricDefinition {
  name: string;
  kind: MetricKind;
  unit: string;
  description: string;
  // Attribute (label) names as Prometheus shows them.
  labels: readonly string[];
  buckets?: readonly number[];
}

// Request-scale latencies, in seconds.
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Event recorded -> read model committed: sub-second when healthy, and the 60 s promise needs
// a boundary at 60 so the p95 alert compares against a real bucket edge.
const SYNC_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];

export const METRICS = {
  webhookDeliveries: {
    name: 'ledger_webhook_deliveries',
    kind: 'counter',
    unit: '{delivery}',
    description:
      'Webhook deliveries by source and outcome: appended, duplicate, ignored, unmatched (answered 2xx), rejected (4xx, with its LEDGER_* code) or failed (5xx)',
    labels: ['source', 'outcome', 'code'],
  },
  unmatchedRetries: {
    name: 'ledger_unmatched_retries',
    kind: 'counter',
    unit: '{delivery}',
    description:
      'Unmatched webhook deliveries tried again by the service, by outcome: matched (its customer is known now; processed), unmatched (still waiting) or failed (refused by today\'s translator); and by trigger: arrival (a delivery or admin link in this process brought a claim it waits for) or backoff (its turn came)',
    labels: ['outcome', 'trigger'],
  },
  httpRequestDuration: {
    name: 'http_server_request_duration_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'HTTP request duration by method, route template and status',
    labels: ['http_request_method', 'http_route', 'http_response_status_code'],
    buckets: FAST_BUCKETS,
  },
  appendDuration: {
    name: 'ledger_append_duration_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'Event store append latency (one call: a fact and its decisions), by outcome: appended, duplicate, conflict (retried by the caller) or error',
    labels: ['outcome'],
    buckets: FAST_BUCKETS,
  },
  appendGrouping: {
    name: 'ledger_append_grouping',
    kind: 'counter',
    unit: '{append}',
    description:
      'Appends by how they were committed: grouped (one statement and transaction with the appends queued beside them) or fallback (that statement failed — a race with another process, the store, or a fault in ledger_append_batch — and each ran alone); a steady fallback share means the grouping is lost',
    labels: ['outcome'],
  },
  eventsAppended: {
    name: 'ledger_events_appended',
    kind: 'counter',
    unit: '{event}',
    description: 'Events appended, by type (facts and decisions)',
    labels: ['event_type'],
  },
  manualOverrides: {
    name: 'ledger_manual_overrides',
    kind: 'counter',
    unit: '{override}',
    description: 'ManualOverrideApplied events appended, by action and the actor’s role',
    labels: ['action', 'role'],
  },
  syncLatency: {
    name: 'ledger_projection_sync_latency_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'From an event being recorded to its read model committing it, per read model and event source',
    labels: ['read_model', 'source'],
    buckets: SYNC_BUCKETS,
  },
  projectionBatches: {
    name: 'ledger_projection_batches',
    kind: 'counter',
    unit: '{batch}',
    description: 'Projection batches, committed or failed (a failed batch is retried with backoff)',
    labels: ['read_model', 'outcome'],
  },
  projectionLagEvents: {
    name: 'ledger_projection_lag_events',
    kind: 'gauge',
    unit: '{event}',
    description: 'Events visible in the log that the read model has not applied yet',
    labels: ['read_model'],
  },
  projectionLagSeconds: {
    name: 'ledger_projection_lag_seconds',
    kind: 'gauge',
    unit: 's',
    description: 'Age of the oldest event the read model has not applied yet (0 when caught up)',
    labels: ['read_model'],
  },
  parkedEvents: {
    name: 'ledger_projection_parked_events',
    kind: 'gauge',
    unit: '{event}',
    description: 'Events parked (failed, or held behind a failed one of the same customer) and not yet retried or skipped',
    labels: ['read_model'],
  },
  fenceHeldEvents: {
    name: 'ledger_eventstore_fence_held_events',
    kind: 'gauge',
    unit: '{event}',
    description: 'Committed events readers cannot see yet because an older transaction is still open (the xmin fence)',
    labels: [],
  },
  ticketEvents: {
    name: 'ledger_support_ticket_events',
    kind: 'counter',
    unit: '{event}',
    description:
      'Support read model outcomes by customer segment (vip, the plan, or none): routed = a ticket event applied and routed; failed = a support event parked, so the customer’s tickets stop being created or rerouted',
    labels: ['segment', 'outcome'],
  },
  ticketFailureStreak: {
    name: 'ledger_support_ticket_failure_streak',
    kind: 'gauge',
    unit: '{event}',
    description: 'Support events failed in a row for a customer segment since its last routed ticket event (this process)',
    labels: ['segment'],
  },
} as const satisfies Record<string, MetricDefinition>;

export const METRIC_DEFINITIONS: readonly MetricDefinition[] = Object.values(METRICS);

// The series names Prometheus stores for a metric.
export function prometheusSeriesNames(metric: MetricDefinition): string[] {
  switch (metric.kind) {
    case 'counter':
      return [metric.name.endsWith('_total') ? metric.name : `${metric.name}_total`];
    case 'histogram':
      return [`${metric.name}_bucket`, `${metric.name}_count`, `${metric.name}_sum`];
    case 'gauge':
      return [metric.name];
    default: {
      const unknown: never = metric.kind;
      throw new Error(`unknown metric kind ${String(unknown)}`);
    }
  }
}

export const EMITTED_SERIES: ReadonlySet<string> = new Set(METRIC_DEFINITIONS.flatMap(prometheusSeriesNames));
