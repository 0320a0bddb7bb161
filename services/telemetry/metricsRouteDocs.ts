import type { RouteDoc } from '../http/routeDocs.ts';
import { METRIC_DEFINITIONS } from './metricCatalog.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metricsRoutes.ts';

export const metricsRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Metrics in the Prometheus text format',
    description: `For a Prometheus scrape (deploy/prometheus/prometheus.yml; alert rules in deploy/prometheus/alerts.yml). Metrics: ${METRIC_DEFINITIONS.map((m) => `\`${m.name}\``).join(', ')}.`,
    tag: 'meta',
    security: [],
    responses: { 200: { description: 'Prometheus text exposition 0.0.4', contentType: PROMETHEUS_CONTENT_TYPE, schema: { type: 'string' } } },
    problems: [],
  },
];
