// How well the lifecycle rules handle two subscriptions at once, measured rather than assumed:
// `npx tsx scripts/subscriptionLives.ts [seed] [lives]`.
//
// Generates valid Stripe lives for two subscriptions of one customer (each: trial or paid start,
// maybe a conversion, maybe a failed renewal with or without recovery, maybe a cancellation; the
// second starting up to four seconds after the first), and for each life reports
//   - "wrong": in-order delivery ends elsewhere than the best of the two subscriptions' final
//     statuses (active, else past_due, else trial; canceled when neither is live), and
//   - "diverging": 40 random arrival orders do not all end in the same state.
// The unit tests pin the realistic cases that must converge; this is the wider net, and the
// measure for the next change to the rules. A dev tool: not run by `npm test`.
import type { FactEvent } from '../contracts/domainEvents.ts';
import { facts, recordFact, run } from '../test/unit/lifecycleFixtures.ts';

type Meaning = 'trialing' | 'active' | 'pastDue' | 'canceled';

let seed = Number(process.argv[2] ?? 7);
const lives = Number(process.argv[3] ?? 200);
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const chance = (p: number) => random() < p;

function life(id: string, start: number): { events: FactEvent[]; end: Meaning } {
  const events: FactEvent[] = [];
  let t = start;
  let end: Meaning;
  if (chance(0.4)) {
    events.push(facts.trialStarted(t, id));
    end = 'trialing';
    if (chance(0.6)) {
      t += 1 + Math.floor(random() * 2);
      events.push(facts.subscriptionChanged(t, 'active', id), facts.paymentSucceeded(t, id));
      end = 'active';
    }
  } else {
    events.push(facts.subscriptionActivated(t, id), facts.paymentSucceeded(t, id));
    end = 'active';
  }
  if (end === 'active' && chance(0.4)) {
    t += 1 + Math.floor(random() * 2);
    events.push(facts.renewalFailed(t, id), facts.subscriptionChanged(t, 'past_due', id));
    end = 'pastDue';
    if (chance(0.4)) {
      t += 1;
      events.push(facts.paymentSucceeded(t, id), facts.subscriptionChanged(t, 'active', id));
      end = 'active';
    }
  }
  if (chance(0.5)) {
    t += 1 + Math.floor(random() * 2);
    events.push(facts.subscriptionCanceled(t, id));
    end = 'canceled';
  }
  return { events, end };
}

const best = (ends: Meaning[]) => (ends.includes('active') ? 'active' : ends.includes('pastDue') ? 'past_due' : ends.includes('trialing') ? 'trial' : 'canceled');

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

const describe = (history: readonly FactEvent[]) =>
  history
    .map((fact) => {
      const status = 'status' in fact.data ? `(${String(fact.data.status)})` : '';
      const subscription = 'subscriptionId' in fact.data ? String(fact.data.subscriptionId) : '';
      return `${fact.type}${status}@${fact.data.occurredAt.slice(17, 19)} ${subscription}`;
    })
    .join(', ');

let wrong = 0;
let diverging = 0;
const examples: string[] = [];
for (let n = 0; n < lives; n += 1) {
  const a = life('sub_a', 1);
  const b = life('sub_b', 1 + Math.floor(random() * 5));
  const all = [...a.events, ...b.events];
  const inOrder = [...all].sort((x, y) => Date.parse(x.data.occurredAt) - Date.parse(y.data.occurredAt));
  const expected = best([a.end, b.end]);
  const final = run(inOrder.map(recordFact)).state.lifecycle;
  const finals = new Set([final]);
  for (let order = 0; order < 40; order += 1) finals.add(run(shuffled(all).map(recordFact)).state.lifecycle);
  if (final !== expected) {
    wrong += 1;
    if (examples.length < 6) examples.push(`wrong: ${final}, expected ${expected}: ${describe(inOrder)}`);
  }
  if (finals.size > 1) {
    diverging += 1;
    if (examples.length < 6) examples.push(`diverging: ${[...finals].join(' / ')}: ${describe(inOrder)}`);
  }
}
console.log(`${lives} two-subscription lives: in order wrong ${wrong}, diverging across arrival orders ${diverging}`);
for (const example of examples) console.log(`  ${example}`);
