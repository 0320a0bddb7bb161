import { ZendeskEvent } from '../../../contracts/inbound/zendesk.ts';
import { parseJsonBody } from '../../../contracts/parseBody.ts';
import type { WebhookSource } from '../webhookSource.ts';
import { verifyZendeskSignature } from './zendeskSignature.ts';
import { translateZendeskEvent } from './zendeskTranslation.ts';

// POST /webhooks/support: Zendesk event webhooks (ticket and user events), signed per delivery.
export function createZendeskSource(signingSecret: string | undefined): WebhookSource<ZendeskEvent> {
  return {
    name: 'support',
    path: '/webhooks/support',
    verify: (input) => verifyZendeskSignature(signingSecret, input),
    parse: (rawBody) => parseJsonBody(ZendeskEvent, rawBody),
    translate: translateZendeskEvent,
  };
}
