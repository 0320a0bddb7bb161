import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import type { Telemetry } from '../../services/telemetry/activeTelemetry.ts';
import { instruments } from '../../services/telemetry/instruments.ts';
import { EMITTED_SERIES, METRIC_DEFINITIONS, prometheusSeriesNames } from '../../services/telemetry/metricCatalog.ts';
import { startTelemetry } from '../../services/telemetry/telemetrySdk.ts';
import { parsePrometheusText } from '../support/prometheusText.ts';

// deploy/prometheus/alerts.yml: every expression parses with Prometheus' own PromQL grammar, and
// names only series the service emits (or the file records); the promised thresholds are there.

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const file: { groups: { name: string; rules: Rule[] }[] } = parseYaml(readFileSync('deploy/prometheus/alerts.yml', 'utf8'));
const rules = file.groups.flatMap((g) => g.rules);
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
const alert = (name: string): Rule => {
  const found = rules.find((r) => r.alert === name);
  assert.ok(found, `alert ${name} exists`);
  return found;
};

interface Selector {
  metric: string;
  labels: string[];
}

// Syntax errors, and the metric and matcher label names of every vector selector.
function analyse(expr: string): { errors: string[]; selectors: Selector[] } {
  const errors: string[] = [];
  const selectors: Selector[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.to + 20)}…`);
      if (node.name !== 'VectorSelector') return;
      const metric = node.node.getChild('Identifier');
      const labels = node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? [];
      selectors.push({
        metric: metric ? expr.slice(metric.from, metric.to) : '',
        labels: labels.map((m) => {
          const name = m.getChild('LabelName');
          return name ? expr.slice(name.from, name.to) : '';
        }),
      });
    },
  });
  return { errors, selectors };
}

describe('alert rules (deploy/prometheus/alerts.yml)', () => {
  test('every rule is well formed and its expression parses', () => {
    assert.ok(rules.length >= 5);
    for (const rule of rules) {
      const name = rule.alert ?? rule.record;
      assert.ok((rule.alert === undefined) !== (rule.record === undefined), `${name}: an alert or a recording rule`);
      assert.equal(typeof rule.expr, 'string', `${name}: expr`);
      assert.deepEqual(analyse(rule.expr).errors, [], `${name}: ${rule.expr}`);
      if (rule.for !== undefined) assert.match(rule.for, /^\d+(ms|s|m|h|d|w|y)$/, `${name}: for`);
      if (rule.record) assert.match(rule.record, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      if (rule.alert) {
        assert.ok(rule.labels?.severity, `${name}: severity`);
        assert.ok(rule.annotations?.summary, `${name}: summary`);
      }
    }
  });

  test('the grammar is really checked: a broken expression is caught', () => {
    assert.notDeepEqual(analyse('sum(rate(ledger_webhook_deliveries_total[15m])').errors, []);
    assert.notDeepEqual(analyse('ledger_projection_parked_events >').errors, []);
  });

  test('every metric an expression names is emitted by the service or recorded in the file', () => {
    for (const rule of rules) {
      for (const { metric, labels } of analyse(rule.expr).selectors) {
        assert.ok(EMITTED_SERIES.has(metric) || recorded.has(metric), `${rule.alert ?? rule.record} names ${metric}, which nothing emits`);
        const definition = METRIC_DEFINITIONS.find((m) => prometheusSeriesNames(m).includes(metric));
        for (const label of definition ? labels : []) {
          const known = [...definition!.labels, ...(definition!.kind === 'histogram' ? ['le'] : []), 'job', 'instance'];
          assert.ok(known.includes(label), `${rule.alert ?? rule.record}: ${metric} has no label ${label}`);
        }
      }
    }
  });

  test('the product’s promises, with their thresholds', () => {
    const ratio = rules.find((r) => r.record === 'ledger:webhook_failure_ratio:rate15m');
    assert.ok(ratio);
    assert.match(ratio.expr, /outcome=~"rejected\|failed"/);
    assert.match(ratio.expr, /\[15m\]/);
    assert.match(alert('LedgerWebhookFailureRateHigh').expr, /ledger:webhook_failure_ratio:rate15m > 0\.02/);

    const p95 = rules.find((r) => r.record === 'ledger:payment_crm_sync_latency_seconds:p95_15m');
    assert.ok(p95);
    assert.match(p95.expr, /histogram_quantile\(0\.95/);
    assert.match(p95.expr, /read_model="crm", source="stripe"/);
    assert.match(alert('LedgerPaymentToCrmSyncSlow').expr, /ledger:payment_crm_sync_latency_seconds:p95_15m > 60/);

    assert.match(alert('LedgerTicketRoutingFailing').expr, /max by \(segment\) \(ledger_support_ticket_failure_streak\) > 3/);

    const lag = alert('LedgerProjectionLagGrowing');
    assert.equal(lag.for, '5m');
    assert.match(lag.expr, /deriv\(ledger_projection_lag_seconds\[5m\]\) > 0/);
    assert.match(lag.expr, /deriv\(ledger_projection_lag_events\[5m\]\) > 0/);

    const parked = alert('LedgerEventParked');
    assert.match(parked.expr, /ledger_projection_parked_events\) > 0$/);
    assert.equal(parked.for, undefined, 'any parked event, at once');

    const unmatched = alert('LedgerUnmatchedRetryFailing');
    assert.match(unmatched.expr, /ledger_unmatched_retries_total\{outcome="failed"\}\[1h\]\)\) > 0$/);

    const grouping = alert('LedgerAppendGroupingLost');
    assert.match(grouping.expr, /ledger_append_grouping_total\{outcome="fallback"\}\[15m\]/);
    assert.match(grouping.expr, /> 0\.2\s*$/);
  });
});

describe('metric catalogue (services/telemetry/metricCatalog.ts)', () => {
  let telemetry: Telemetry;
  before(() => {
    telemetry = startTelemetry({ spanProcessors: [] });
  });
  after(() => telemetry.stop());

  test('the series the alert test trusts are exactly what the Prometheus exposition shows', async () => {
    const i = instruments();
    for (const counter of [i.webhookDeliveries, i.unmatchedRetries, i.appendGrouping, i.eventsAppended, i.manualOverrides, i.projectionBatches, i.ticketEvents]) counter.add(1);
    for (const histogram of [i.httpRequestDuration, i.appendDuration, i.syncLatency]) histogram.record(0.5);
    i.ticketFailureStreak.record(1);
    const observed = [i.projectionLagEvents, i.projectionLagSeconds, i.parkedEvents, i.fenceHeldEvents];
    i.meter.addBatchObservableCallback((observer) => {
      for (const gauge of observed) observer.observe(gauge, 0);
    }, observed);

    const shown = new Set(parsePrometheusText(await telemetry.metricsText()).map((s) => s.name));
    shown.delete('target_info');
    assert.deepEqual([...shown].sort(), [...EMITTED_SERIES].sort());
  });
});
