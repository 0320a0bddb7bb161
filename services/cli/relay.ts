import { KafkaInbound } from '../ingest/kafkaInbound.ts';
import { connectKafka, ONE_SHOT, stderrLogger, topicExists } from '../relay/kafkaConnection.ts';
import { Relay } from '../relay/relay.ts';
import { CliError } from './cliError.ts';
import { openDatabaseForCli } from './openForCli.ts';

const USAGE = `Usage:
  ledger relay [--once]   produce every committed event to KAFKA_TOPIC from the relay's checkpoint
                          (--once: what is committed now, then exit); with KAFKA_INBOUND_TOPIC set,
                          also ingest app events published there
`;

// `ledger relay`: the bridge between the event store and Kafka. One process is enough; a second
// one waits on the first's lock (a hot standby), it never produces the same batch twice.
export async function run(args: string[]): Promise<number> {
  if (args.some((a) => a !== '--once')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const { db, config } = await openDatabaseForCli();
  try {
    if (config.kafka.brokers.length === 0) throw new CliError('set KAFKA_BROKERS (host:port, comma-separated) to run the relay');
    const once = args.includes('--once');
    const kafka = connectKafka(config, stderrLogger, 'relay', ...(once ? [ONE_SHOT] : []));
    const relay = new Relay(db, kafka, {
      topic: config.kafka.topic,
      batchSize: config.kafka.relayBatchSize,
      pollIntervalMs: config.projector.pollIntervalMs,
      logger: stderrLogger,
    });
    if (once) {
      const produced = await relay.drain();
      await relay.stop();
      process.stdout.write(`relayed ${produced} events to ${config.kafka.topic}\n`);
      return 0;
    }
    // The relay creates its own topic; the inbound one is the producers': a name that is not
    // there (misspelt, not created yet) must stop the command, not leave it running on without it.
    if (config.kafka.inboundTopic && !(await topicExists(kafka, config.kafka.inboundTopic))) {
      throw new CliError(`KAFKA_INBOUND_TOPIC ${config.kafka.inboundTopic} does not exist on ${config.kafka.brokers.join(',')}: create it (its producers publish there), or unset the variable`);
    }
    const inbound = config.kafka.inboundTopic
      ? new KafkaInbound(db, kafka, { topic: config.kafka.inboundTopic, groupId: `${config.kafka.groupId}.inbound`, logger: stderrLogger })
      : undefined;
    await relay.start();
    try {
      await inbound?.start();
    } catch (error) {
      // Stopped before the store closes: its loop would otherwise keep the process alive, failing on a closed pool.
      await relay.stop();
      await inbound?.stop().catch(() => {});
      throw error;
    }
    process.stdout.write(
      `relay running: events -> ${config.kafka.topic} on ${config.kafka.brokers.join(',')}` +
        `${inbound ? `; ingesting app events from ${config.kafka.inboundTopic}` : ''}; SIGTERM stops it after the batch in flight\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await inbound?.stop();
    await relay.stop();
    process.stdout.write('relay stopped\n');
    return 0;
  } finally {
    await db.close();
  }
}
