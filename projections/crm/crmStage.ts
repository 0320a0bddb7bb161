import type { StandingLifecycle } from '../customerView.ts';

// HubSpot-style lifecycle stages (its internal values, plus `former_customer`, a custom stage
// the CRM sync maps or creates), read from our lifecycle:
//
// | lifecycle    | stage                              | flag        | plan tag, MRR          |
// |--------------|------------------------------------|-------------|------------------------|
// | lead         | lead                               |             | no tag, MRR 0          |
// | trial        | opportunity                        |             | tag, MRR 0 (not billed)|
// | active       | customer                           |             | tag, MRR               |
// | past_due     | customer                           | pastDue     | tag, MRR               |
// | canceled     | former_customer                    |             | no tag, MRR 0          |
// | refunded     | former_customer                    |             | no tag, MRR 0          |
// | needs_review | the stage of the state flagged from| needsReview | as that state          |
//
// A past-due customer is still a customer (Stripe is retrying); a review is a question, so the
// stage does not move until a human answers it.
export const CRM_STAGES = ['lead', 'opportunity', 'customer', 'former_customer'] as const;
export type CrmStage = (typeof CRM_STAGES)[number];

export const STAGE_OF: Record<StandingLifecycle, CrmStage> = {
  lead: 'lead',
  trial: 'opportunity',
  active: 'customer',
  past_due: 'customer',
  canceled: 'former_customer',
  refunded: 'former_customer',
};
