import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Stripe from 'stripe';
import { PROVIDER_FIXTURES } from './providerFixtures.ts';
import { STRIPE_TEST_SECRET } from './testApp.ts';

export const FIXTURES = PROVIDER_FIXTURES;

export function stripeFixture(name: string): { id: string; type: string; created: number; data: { object: Record<string, unknown> } } & Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(FIXTURES, 'stripe', `${name}.json`), 'utf8'));
}

// Headers exactly as Stripe sends them, signed with the stripe package's own test helper.
export function signedStripeHeaders(payload: string, options: { secret?: string; timestamp?: number } = {}): Record<string, string> {
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? STRIPE_TEST_SECRET,
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  return { 'content-type': 'application/json', 'stripe-signature': signature };
}
