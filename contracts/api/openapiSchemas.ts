import { z } from 'zod';
import {
  AdminCommandAccepted,
  AdminIdentityRequest,
  AdminOverrideRequest,
  AuditPage,
  CustomersPage,
  ParkedActionResult,
  ParkedList,
  ParkedRetryRequest,
  ParkedSkipRequest,
  ProjectionsStatus,
  RebuildResult,
  StateAt,
  Timeline,
} from './adminApi.ts';
import { AppEventRequest, IdempotencyKey, LeadRequest } from '../inbound/app.ts';
import { HubspotBatch } from '../inbound/hubspot.ts';
import { StripeEventEnvelope } from '../inbound/stripe.ts';
import { ZendeskEvent } from '../inbound/zendesk.ts';
import { CommandAccepted } from './commandAccepted.ts';
import { CustomerRefParams, CustomerView } from './customerView.ts';
import { LiveResponse, ReadyResponse } from './health.ts';
import { ProblemDetails } from './problemDetails.ts';
import { RedeliveryReport, RedeliveryRequest } from './redelivery.ts';
import { WebhookReceipt } from './webhookReceipt.ts';
import { AppEntitlementsResponse, ChangesPage, CrmContactView, SupportProfileView } from './readModelViews.ts';

// The JSON Schemas (2020-12, the dialect OpenAPI 3.1 uses) of every HTTP body, generated from
// the same zod contracts that parse them, so the document cannot drift from what is enforced.
// Computed once at import; services/http/openapi.ts assembles them into the document.

export type JsonSchema = { [keyword: string]: unknown };

// Requests are documented as clients write them (before defaults/transforms), responses as the
// server writes them.
const requests = { RedeliveryRequest, LeadRequest, AppEventRequest, AdminOverrideRequest, AdminIdentityRequest, ParkedRetryRequest, ParkedSkipRequest } as const;
const responses = {
  Timeline,
  StateAt,
  CustomersPage,
  AdminCommandAccepted,
  ParkedList,
  ParkedActionResult,
  ProjectionsStatus,
  RebuildResult,
  AuditPage,
  RedeliveryReport,
  CommandAccepted,
  CustomerView,
  ProblemDetails,
  LiveResponse,
  ReadyResponse,
  WebhookReceipt,
  CrmContactView,
  SupportProfileView,
  AppEntitlementsResponse,
  ChangesPage,
} as const;

// Webhook bodies are the providers' own formats, verified over the raw bytes before they are
// parsed with these contracts (which name only the fields the ledger reads and let others pass).
const webhookBodies = {
  StripeEvent: StripeEventEnvelope.meta({ description: 'A Stripe event, any API version (pre-2025 and basil shapes)' }),
  HubspotWebhookBatch: HubspotBatch.meta({ description: 'A HubSpot webhook batch: one delivery carries several events' }),
  ZendeskWebhookEvent: ZendeskEvent.meta({ description: 'A Zendesk webhook event (zen:event-type:…)' }),
};

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // `$schema` and `$id` belong to a standalone document, not a component inside one.
  const { $schema: _dialect, $id: _id, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

const mapValues = <K extends string>(schemas: Record<K, z.ZodType>, io: 'input' | 'output') =>
  Object.fromEntries(Object.entries<z.ZodType>(schemas).map(([name, schema]) => [name, toSchema(schema, io)])) as Record<K, JsonSchema>;

export const componentSchemas = {
  ...mapValues(requests, 'input'),
  ...mapValues(webhookBodies, 'input'),
  ...mapValues(responses, 'output'),
};
export type SchemaName = keyof typeof componentSchemas;

// Parameters and headers are documented inline.
export const parameterSchemas = {
  customerRef: toSchema(CustomerRefParams.shape.ref, 'input'),
  idempotencyKey: toSchema(IdempotencyKey, 'input'),
};
