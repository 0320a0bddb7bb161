import { parseDomainEvent } from '../../../contracts/domainEvents.ts';
import { isKnownStripeEventType, StripeEventEnvelope, StripeKnownEvent } from '../../../contracts/inbound/stripe.ts';
import { parseJsonBody, parseWith } from '../../../contracts/parseBody.ts';
import type { Translation, WebhookSource } from '../webhookSource.ts';
import { verifyStripeSignature } from './stripeSignature.ts';
import { translateStripeEvent, type StripeDelivery } from './stripeTranslate.ts';

// POST /webhooks/stripe: verify the Stripe-Signature over the raw bytes, read the envelope,
// then the object of the types we translate, and translate (pure).
export function createStripeSource(secrets: string[]): WebhookSource<StripeDelivery> {
  const configured = [...secrets];
  return {
    name: 'stripe',
    path: '/webhooks/stripe',
    verify: (input) => verifyStripeSignature(configured, input),
    parse(rawBody) {
      const envelope = parseJsonBody(StripeEventEnvelope, rawBody);
      return isKnownStripeEventType(envelope.type) ? { kind: 'known', event: parseWith(StripeKnownEvent, envelope) } : { kind: 'unknown', envelope };
    },
    translate: (delivery) => checked(translateStripeEvent(delivery)),
  };
}

// Nothing checks a fact's data again before it is appended, and a fact the read path cannot
// parse would make the customer's stream unreadable: a mapper bug must fail this delivery
// (500, Stripe retries after the fix) rather than be stored.
function checked(translation: Translation): Translation {
  for (const { fact } of translation.facts) parseDomainEvent(fact.type, fact.schemaVersion, fact.data);
  return translation;
}
