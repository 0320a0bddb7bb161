import { domainEvent } from '../../../contracts/domainEvents.ts';
import { SUBSCRIPTION_STATUSES, type SubscriptionStatus } from '../../../contracts/events/vocabulary.ts';
import type { StripeKnownEvent } from '../../../contracts/inbound/stripe.ts';
import type { Translation } from '../webhookSource.ts';
import { subscriptionPricing } from './stripePricing.ts';
import { claimsOf, factsOf, ignoredEvent, occurredAtOf, withoutUndefined, type StripeFact } from './stripeFacts.ts';

type SubscriptionEvent = Extract<StripeKnownEvent, { type: `customer.subscription.${string}` }>;

const isStatus = (status: string): status is SubscriptionStatus => (SUBSCRIPTION_STATUSES as readonly string[]).includes(status);

// customer.subscription.* -> the subscription facts. A snapshot is recorded as what it says;
// the lifecycle machine reads the meaning (and domain/ordering.ts keeps older snapshots from
// undoing newer ones).
export function translateSubscriptionEvent(event: SubscriptionEvent): Translation {
  const subscription = event.data.object;
  const occurredAt = occurredAtOf(event.created);
  const trialEndsAt = subscription.trial_end ? occurredAtOf(subscription.trial_end) : undefined;
  const fact = (built: StripeFact['fact']): Translation =>
    factsOf(event.id, [
      {
        fact: built,
        identities: claimsOf({ customer: subscription.customer, lookups: [['stripe_subscription', subscription.id]] }),
        createIfMissing: true,
      },
    ]);

  if (event.type === 'customer.subscription.deleted') {
    const reason = subscription.cancellation_details?.reason ?? undefined;
    return fact(domainEvent('SubscriptionCanceled', withoutUndefined({ occurredAt, subscriptionId: subscription.id, reason })));
  }
  if (event.type === 'customer.subscription.trial_will_end') {
    if (trialEndsAt === undefined) return ignoredEvent(event.id, 'trial_will_end without trial_end');
    return fact(domainEvent('TrialWillEnd', { occurredAt, subscriptionId: subscription.id, trialEndsAt }));
  }

  const { status } = subscription;
  if (!isStatus(status)) return ignoredEvent(event.id, `unknown subscription status ${status}`);
  const pricing = subscriptionPricing(subscription);
  if (pricing === undefined) return ignoredEvent(event.id, 'subscription item without a price');
  const snapshot = withoutUndefined({
    occurredAt,
    subscriptionId: subscription.id,
    plan: pricing.plan,
    mrrCents: pricing.mrrCents,
    currency: pricing.currency,
  });

  const previousStatus = event.data.previous_attributes?.['status'];
  const becameActive = event.type === 'customer.subscription.created' || (typeof previousStatus === 'string' && previousStatus !== 'active');
  if (event.type === 'customer.subscription.created' && status === 'trialing') {
    return fact(domainEvent('TrialStarted', withoutUndefined({ ...snapshot, trialEndsAt })));
  }
  if (status === 'active' && becameActive) return fact(domainEvent('SubscriptionActivated', snapshot));
  return fact(
    domainEvent(
      'SubscriptionChanged',
      withoutUndefined({ ...snapshot, status, cancelAtPeriodEnd: subscription.cancel_at_period_end ?? undefined, trialEndsAt }),
    ),
  );
}
