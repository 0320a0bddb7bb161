// Attribute names this service puts on spans. The stable HTTP and DB ones come from
// @opentelemetry/semantic-conventions; the messaging ones are still "incubating" there, and
// OpenTelemetry advises copying incubating names rather than importing them (they may move).

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';

// The resource's service.name (unless OTEL_SERVICE_NAME says otherwise) and the tracer's and
// meter's scope name.
export const SERVICE_NAME = 'customer-ledger';

// The ledger's own: on every span this service starts, so one id finds the whole chain. (The
// messaging conventions' `messaging.message.conversation_id` means the same; one name is kept so
// a single search finds every span.)
export const ATTR_CORRELATION_ID = 'ledger.correlation_id';
// A projection batch serving several deliveries names them all (capped, like span links).
export const ATTR_CORRELATION_IDS = 'ledger.correlation_ids';
export const ATTR_WEBHOOK_SOURCE = 'ledger.webhook.source';
export const ATTR_DELIVERY_OUTCOME = 'ledger.delivery.outcome';
export const ATTR_FACT_OUTCOME = 'ledger.fact.outcome';
export const ATTR_EVENT_TYPE = 'ledger.event.type';
export const ATTR_EVENT_ID = 'ledger.event.id';
export const ATTR_EVENT_COUNT = 'ledger.events.count';
// An opaque internal id (`cust_…`): no name, email or provider id.
export const ATTR_CUSTOMER_ID = 'ledger.customer_id';
export const ATTR_READ_MODEL = 'ledger.read_model';
export const ATTR_POSITION_FROM = 'ledger.position.from';
export const ATTR_POSITION_TO = 'ledger.position.to';
export const ATTR_APPLIED = 'ledger.projection.applied';
export const ATTR_PARKED = 'ledger.projection.parked';
export const ATTR_ERROR_CODE = 'ledger.error.code';
