import type { RouteModule } from '../http/app.ts';
import { createHubspotSource } from './crm/hubspotSource.ts';
import { createStripeSource } from './stripe/stripeSource.ts';
import { createZendeskSource } from './support/zendeskSource.ts';
import { registerWebhook } from './webhookRoute.ts';

// One scope per provider, each with its own raw-body parser and rate limit.
export const stripeWebhookRoutes: RouteModule = (scope, deps) =>
  registerWebhook(scope, deps, createStripeSource(deps.config.webhooks.stripeSecrets));

export const crmWebhookRoutes: RouteModule = (scope, deps) =>
  registerWebhook(scope, deps, createHubspotSource(deps.config.webhooks.hubspotClientSecret));

export const supportWebhookRoutes: RouteModule = (scope, deps) =>
  registerWebhook(scope, deps, createZendeskSource(deps.config.webhooks.zendeskSecret));
