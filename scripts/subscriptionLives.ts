// How well the lifecycle rules handle two subscriptions at once, over more lives and orders than
// the unit tests take: `npx tsx scripts/subscriptionLives.ts [seed] [lives] [orders] [money]`.
//
// For each generated life (test/unit/subscriptionLives.ts) it reports
//   - "wrong": in-order delivery ends elsewhere than expected: the best of the two subscriptions'
//     final statuses (active, else past_due, else trial; canceled when neither is live), or with
//     `money`, refunded unless a running subscription was paid again after the refund, and
//   - "diverging": random arrival orders do not all end in the same state, and
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
// refunds too (flagged while no payment is known, withdrawn when it arrives).
import type { FactEvent } from '../contracts/domainEvents.ts';
import type { LifecycleState } from '../contracts/events/vocabulary.ts';
import { recordFact, run } from '../test/unit/lifecycleFixtures.ts';
import { describeFacts, seededRandom, shuffled, subscriptionView, twoSubscriptionLife, withFullRefund } from '../test/unit/subscriptionLives.ts';

const random = seededRandom(Number(process.argv[2] ?? 7));
const lives = Number(process.argv[3] ?? 200);
const orders = Number(process.argv[4] ?? 40);

const money = process.argv[5] === 'money';

let wrong = 0;
let diverging = 0;
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
  counted += 1;
  const final = run(inOrder.map(recordFact)).state.lifecycle;
  const finals = new Set([final]);
  const views = new Set([subscriptionView(inOrder)]);
  for (let order = 0; order < orders; order += 1) {
    const shuffledOrder = shuffled(inOrder, random);
    finals.add(run(shuffledOrder.map(recordFact)).state.lifecycle);
    views.add(subscriptionView(shuffledOrder));
  }
  if (views.size > 1) viewDiverging += 1;
  if (final !== expected) {
    wrong += 1;
    if (examples.length < 6) examples.push(`wrong: ${final}, expected ${expected}: ${describeFacts(inOrder)}`);
  }
  if (finals.size > 1) {
    diverging += 1;
    if (examples.length < 6) examples.push(`diverging: ${[...finals].join(' / ')}: ${describeFacts(inOrder)}`);
  }
}
console.log(`${lives} two-subscription lives${money ? ' with a full refund' : ''}, ${orders} arrival orders each: in order wrong ${wrong}, diverging across arrival orders ${diverging}, view diverging ${viewDiverging}`);
for (const example of examples) console.log(`  ${example}`);
