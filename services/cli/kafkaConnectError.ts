// Kafka failing a command because no broker answers (not running, wrong KAFKA_BROKERS, a host
// that does not resolve): one line saying so and where, instead of kafkajs's stack. kafkajs
// wraps the socket's error once it has given up retrying, so the chain of causes is searched.
// Undefined for anything else, whose stack is then the useful part.
const UNREACHABLE = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError']);

export function kafkaConnectMessage(error: unknown, brokers: string | undefined): string | undefined {
  if (!brokers) return undefined;
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause ?? (cause as { originalError?: unknown }).originalError, depth += 1) {
    if (UNREACHABLE.has(cause.name)) {
      return `cannot reach Kafka at ${brokers} (${cause.message}): is the broker running, and is KAFKA_BROKERS right?`;
    }
  }
  return undefined;
}
