import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import { byCodeUnits } from '../docChanges.ts';
import { holdsPlan, planName, type Plan, type StandingLifecycle } from '../customerView.ts';

// Tags are a pure function of the customer (one `lifecycle:<state>` tag, and one `plan:<name>`
// tag while a plan is held), so a tag is added once when it starts to hold and removed once
// when it stops: never re-added by a repeated fact, never left behind by an upgrade.

export interface TagChange {
  position: string;
  correlationId: string;
  // The event type that moved the tags (a lifecycle decision, or a plan change on a held plan).
  cause: string;
  lifecycle: LifecycleState;
  add: string[];
  remove: string[];
}

// Enough to show the last few changes; the full story is the customer's stream.
export const TAG_HISTORY_LIMIT = 50;

export function planTag(plan: Plan): string {
  return `plan:${slug(planName(plan)) || slug(plan.priceId)}`;
}

export function tagsFor(lifecycle: LifecycleState, standing: StandingLifecycle, plan: Plan | null): string[] {
  const tags = [`lifecycle:${lifecycle}`];
  if (plan !== null && holdsPlan(standing)) tags.push(planTag(plan));
  return tags.sort(byCodeUnits);
}

export function tagDiff(before: readonly string[], after: readonly string[]): { add: string[]; remove: string[] } {
  return {
    add: after.filter((tag) => !before.includes(tag)),
    remove: before.filter((tag) => !after.includes(tag)),
  };
}

// "Pro Monthly" -> "pro-monthly": CRM tags are matched by value, so spelling must not vary.
const slug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
