// How well the lifecycle rules handle two subscriptions at once, over more lives and orders than
// the unit tests take: `npx tsx scripts/subscriptionLives.ts [seed] [lives] [orders] [extras]`,
// extras a comma-separated list of money, dispute, declined, partial, oneoff.
//
// For each generated life (test/unit/subscriptionLives.ts) it reports
//   - "wrong": in-order delivery ends elsewhere than expected: the best of the two subscriptions'
//     final statuses (active, else past_due, else trial; canceled when neither is live), or with
//     `money`, refunded unless a running subscription was paid again after the refund, and
//   - "diverging": random arrival orders do not all end in the same state (under review, with
//     the review's reason and the state it was flagged from),
//   - "dated diverging": they end in the same state but not since the same time (`since`), and
//   - "view diverging": they do not all leave the same current subscription, status, terms and
//     snapshots (subscriptionView).
// The unit tests (lifecycleArrivalOrder, refundArrivalOrder) hold a smaller sample of the same
// lives to zero; this is the wider net for the next change to the rules. A dev tool: not run by
// `npm test`.
//
// `money` adds a full refund of one of the first subscription's payments (as charge.refunded
// sends it: the charge and invoice, not the subscription), sometimes with its cancellation,
// sometimes followed by a renewal of a running subscription; lives whose first subscription never
// paid are left out. Every order counts, those in which the refund overtakes the payment it
// refunds too (flagged while no payment is known, withdrawn when it arrives). `dispute` adds a
// dispute of one of the first subscription's paid charges (as charge.dispute.created names it: the
// charge only), after its payment; `declined` a declined payment for a canceled subscription after
// its cancellation (a final invoice); `partial` a partial refund of a paid charge after it;
// `oneoff` a one-off payment. Lives that cannot take an extra are left out.
import type { FactEvent } from '../contracts/domainEvents.ts';
import type { LifecycleState } from '../contracts/events/vocabulary.ts';
import { domainEvent } from '../contracts/domainEvents.ts';
import { at, facts, recordFact, run } from '../test/unit/lifecycleFixtures.ts';
import { describeFacts, seededRandom, shuffled, subscriptionView, twoSubscriptionLife, withFullRefund } from '../test/unit/subscriptionLives.ts';

const random = seededRandom(Number(process.argv[2] ?? 7));
const lives = Number(process.argv[3] ?? 200);
const orders = Number(process.argv[4] ?? 40);

const extras = new Set((process.argv[5] ?? '').split(',').filter((extra) => extra !== ''));
const money = extras.has('money');
const second = (fact: FactEvent) => new Date(fact.data.occurredAt).getUTCSeconds();

// The life with the extras asked for, in source-time order; null when it cannot take one.
function withExtras(history: FactEvent[]): FactEvent[] | null {
  const added: FactEvent[] = [];
  const last = Math.max(...history.map(second));
  // A charge refunded in full is neither refunded in part afterwards (Stripe's amounts are
  // cumulative) nor disputed.
  const refundedInFull = new Set(history.flatMap((fact) => (fact.type === 'RefundIssued' && fact.data.invoiceId !== undefined ? [fact.data.invoiceId] : [])));
  const paidA = history.filter((fact) => fact.type === 'PaymentSucceeded' && fact.data.subscriptionId === 'sub_a' && !refundedInFull.has(fact.data.invoiceId ?? ''));
  const paidCharge = () => {
    const paid = paidA[Math.floor(random() * paidA.length)];
    return paid?.type === 'PaymentSucceeded' && paid.data.invoiceId !== undefined ? { at: second(paid), invoiceId: paid.data.invoiceId } : null;
  };
  const after = (at: number) => at + 1 + Math.floor(random() * (last - at + 1));
  if (extras.has('dispute')) {
    const charge = paidCharge();
    if (charge === null) return null;
    const at_ = after(charge.at);
    added.push(domainEvent('DisputeOpened', { occurredAt: at(at_), disputeId: `dp_${at_}`, chargeId: `ch_${charge.invoiceId}`, amountCents: 4900, currency: 'usd' }));
  }
  if (extras.has('partial')) {
    const charge = paidCharge();
    if (charge === null) return null;
    added.push(facts.chargeRefunded(after(charge.at), charge.invoiceId, 1000));
  }
  if (extras.has('declined')) {
    const cancellation = history.find((fact) => fact.type === 'SubscriptionCanceled');
    if (cancellation?.type !== 'SubscriptionCanceled') return null;
    added.push(facts.paymentFailed(second(cancellation) + 1 + Math.floor(random() * 2), cancellation.data.subscriptionId));
  }
  if (extras.has('oneoff')) added.push(facts.paymentSucceeded(1 + Math.floor(random() * (last + 1)), null));
  return [...history, ...added].sort((x, y) => Date.parse(x.data.occurredAt) - Date.parse(y.data.occurredAt));
}

const outcomeOf = (order: readonly FactEvent[]) => {
  const { lifecycle, review, since } = run(order.map(recordFact)).state;
  return { state: review === null ? lifecycle : `${lifecycle}: ${review.reason} from ${review.from}`, dated: `since ${since ?? '-'}` };
};

let wrong = 0;
let diverging = 0;
let datedDiverging = 0;
let viewDiverging = 0;
const examples: string[] = [];
let counted = 0;
while (counted < lives) {
  const life = twoSubscriptionLife(random);
  let inOrder: FactEvent[] = life.inOrder;
  let expected: LifecycleState = life.expected;
  if (money) {
    const refunded = withFullRefund(life.inOrder, random);
    if (refunded === null) continue;
    ({ inOrder, expected } = refunded);
  }
  const extended = withExtras(inOrder);
  if (extended === null) continue;
  inOrder = extended;
  counted += 1;
  const final = run(inOrder.map(recordFact)).state.lifecycle;
  const inOrderOutcome = outcomeOf(inOrder);
  const finals = new Set([inOrderOutcome.state]);
  const dates = new Set([`${inOrderOutcome.state} ${inOrderOutcome.dated}`]);
  const views = new Set([subscriptionView(inOrder)]);
  for (let order = 0; order < orders; order += 1) {
    const shuffledOrder = shuffled(inOrder, random);
    const outcome = outcomeOf(shuffledOrder);
    finals.add(outcome.state);
    dates.add(`${outcome.state} ${outcome.dated}`);
    views.add(subscriptionView(shuffledOrder));
  }
  if (finals.size === 1 && dates.size > 1) {
    datedDiverging += 1;
    if (examples.length < 6) examples.push(`dated diverging: ${[...dates].join(' / ')}: ${describeFacts(inOrder)}`);
  }
  if (views.size > 1) viewDiverging += 1;
  // A dispute puts every life under review: what the generator expects is the rest.
  if (!extras.has('dispute') && final !== expected) {
    wrong += 1;
    if (examples.length < 6) examples.push(`wrong: ${final}, expected ${expected}: ${describeFacts(inOrder)}`);
  }
  if (finals.size > 1) {
    diverging += 1;
    if (examples.length < 6) examples.push(`diverging: ${[...finals].join(' / ')}: ${describeFacts(inOrder)}`);
  }
}
console.log(
  `${lives} two-subscription lives${extras.size > 0 ? ` with ${[...extras].join(', ')}` : ''}, ${orders} arrival orders each: ` +
    `in order wrong ${wrong}, diverging across arrival orders ${diverging}, dated diverging ${datedDiverging}, view diverging ${viewDiverging}`,
);
for (const example of examples) console.log(`  ${example}`);
