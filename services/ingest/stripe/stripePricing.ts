import type { Plan } from '../../../contracts/events/common.ts';
import type { StripeLegacyPlan, StripePrice, StripeSubscription } from '../../../contracts/inbound/stripe.ts';
import { withoutUndefined } from './stripeFacts.ts';

// What a customer pays for: the plan read from a price (or the legacy plan object) and the
// subscription's monthly recurring revenue.

type Interval = NonNullable<Plan['interval']>;

// A price or a legacy plan, reduced to what the plan and MRR need.
interface Priced {
  id: string;
  productId: string | undefined;
  nickname: string | undefined;
  currency: string | undefined;
  // Minor units per interval, possibly fractional (unit_amount_decimal); undefined when tiered.
  unitAmount: number | undefined;
  interval: Interval | undefined;
  intervalCount: number;
  metered: boolean;
}

export function pricedOf(price: StripePrice | null | undefined, legacy: StripeLegacyPlan | null | undefined): Priced | undefined {
  if (price) {
    return {
      id: price.id,
      productId: price.product ?? undefined,
      nickname: price.nickname ?? undefined,
      currency: price.currency,
      unitAmount: price.unit_amount ?? decimal(price.unit_amount_decimal),
      interval: price.recurring?.interval,
      intervalCount: price.recurring?.interval_count ?? 1,
      metered: price.recurring?.usage_type === 'metered',
    };
  }
  if (legacy) {
    return {
      id: legacy.id,
      productId: legacy.product ?? undefined,
      nickname: legacy.nickname ?? undefined,
      currency: legacy.currency,
      unitAmount: legacy.amount ?? decimal(legacy.amount_decimal),
      interval: legacy.interval,
      intervalCount: legacy.interval_count ?? 1,
      metered: legacy.usage_type === 'metered',
    };
  }
  return undefined;
}

function decimal(raw: string | null | undefined): number | undefined {
  if (raw === null || raw === undefined) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

export function planOf(priced: Priced): Plan {
  return withoutUndefined({
    priceId: priced.id,
    productId: priced.productId,
    nickname: priced.nickname,
    interval: priced.interval,
    intervalCount: priced.interval === undefined ? undefined : priced.intervalCount,
  });
}

// One interval's amount, per month: a year's is a twelfth, a week's 52/12 of it, a day's 365/12.
const PER_MONTH: Record<Interval, number> = { day: 365 / 12, week: 52 / 12, month: 1, year: 1 / 12 };

export interface SubscriptionPricing {
  plan: Plan;
  currency: string | undefined;
  // undefined when an item's amount is not known up front (tiered or metered prices).
  mrrCents: number | undefined;
}

// The first item is the plan (a subscription with add-ons lists its base price first); MRR is
// the sum over all items, before discounts and taxes, rounded to whole cents once at the end.
export function subscriptionPricing(subscription: StripeSubscription): SubscriptionPricing | undefined {
  const items = subscription.items.data.map((item) => ({ priced: pricedOf(item.price, item.plan), quantity: item.quantity }));
  const first = items[0]?.priced;
  if (first === undefined) return undefined;
  let monthly = 0;
  let known = true;
  for (const { priced, quantity } of items) {
    if (priced?.unitAmount === undefined || priced.interval === undefined || priced.metered) {
      known = false;
      break;
    }
    monthly += (priced.unitAmount * (quantity ?? 1) * PER_MONTH[priced.interval]) / priced.intervalCount;
  }
  return {
    plan: planOf(first),
    currency: subscription.currency ?? first.currency,
    mrrCents: known ? Math.round(monthly) : undefined,
  };
}
