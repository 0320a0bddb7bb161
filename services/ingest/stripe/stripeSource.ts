import { parseDomainEvent } from '../../../contracts/domainEvents.ts';
import { isKnownStripeEventType, StripeEventEnvelope, StripeKnownEvent, StripeThinEvent } from '../../../contracts/inbound/stripe.ts';
import { parseJson, parseWith } from '../../../contracts/parseBody.ts';
import type { Translation, WebhookSource } from '../webhookSource.ts';
import { verifyStripeSignature } from './stripeSignature.ts';
import { translateStripeEvent, type StripeDelivery } from './stripeTranslate.ts';

// POST /webhooks/stripe: verify the Stripe-Signature over the raw bytes, parse the event (with
// its object, for the types we translate), and translate (pure).
export function createStripeSource(secrets: string[]): WebhookSource<StripeDelivery> {
  const configured = [...secrets];
  return {
    name: 'stripe',
    path: '/webhooks/stripe',
    verify: (input) => verifyStripeSignature(configured, input),
    parse(rawBody) {
      const json = parseJson(rawBody);
      // The type picks the contract, so the event is parsed once: whole for a type we translate,
      // only its envelope for any other.
      const { type, object } = typeof json === 'object' && json !== null ? (json as { type?: unknown; object?: unknown }) : {};
      if (object === 'v2.core.event') return { kind: 'thin', event: parseWith(StripeThinEvent, json) };
      return typeof type === 'string' && isKnownStripeEventType(type)
        ? { kind: 'known', event: parseWith(StripeKnownEvent, json) }
        : { kind: 'unknown', envelope: parseWith(StripeEventEnvelope, json) };
    },
    translate: (delivery) => {
      const translation = checked(translateStripeEvent(delivery));
      const sourceType = delivery.kind === 'unknown' ? delivery.envelope.type : delivery.event.type;
      return { ...translation, facts: translation.facts.map((fact) => ({ ...fact, sourceType })) };
    },
  };
}

// Nothing checks a fact's data again before it is appended, and a fact the read path cannot
// parse would make the customer's stream unreadable: a mapper bug must fail this delivery
// (500, Stripe retries after the fix) rather than be stored.
function checked(translation: Translation): Translation {
  for (const { fact } of translation.facts) parseDomainEvent(fact.type, fact.schemaVersion, fact.data);
  return translation;
}
