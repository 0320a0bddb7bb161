import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../contracts/config.ts';
import { subcommands } from '../../services/cli/main.ts';

// docker-compose.yml is for users: there is no Docker engine where the tests run, so nothing
// starts it here. What can drift silently is checked instead: compose passes an environment
// variable the service no longer reads (renamed in contracts/config.ts) without complaint, runs
// a subcommand that is gone, or mounts a file that moved, and the user finds out at `up`.

interface ComposeService {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const ledgerServices = Object.entries(services).filter(([, service]) => service.build === '.');
const dockerfile = readFileSync('Dockerfile', 'utf8');
const dockerCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? 'null') as string[] | null;

// Read by the OpenTelemetry SDK itself, not by contracts/config.ts.
const readBySdk = (name: string) => name.startsWith('OTEL_');

test('the ledger containers are given only variables the service reads', () => {
  assert.deepEqual(ledgerServices.map(([name]) => name).sort(), ['ledger', 'ledger-projector', 'ledger-relay']);
  for (const [name, service] of ledgerServices) {
    const unknown = Object.keys(service.environment ?? {}).filter((v) => !readBySdk(v) && !(CONFIG_VARIABLES as string[]).includes(v));
    assert.deepEqual(unknown, [], `${name} sets variables the service does not read`);
  }
});

test('every ledger container, and the image by default, runs a subcommand that exists', () => {
  assert.ok(dockerCmd, 'Dockerfile has an exec-form CMD');
  const commands: Array<[string, string[]]> = [
    ['Dockerfile CMD', dockerCmd],
    ...ledgerServices.map(([name, service]): [string, string[]] => [name, service.command ?? dockerCmd]),
  ];
  for (const [where, command] of commands) {
    assert.equal(command[0], 'node', where);
    const entry = command.indexOf('services/cli/main.ts');
    assert.ok(entry > 0 && existsSync(command[entry]!), `${where} runs services/cli/main.ts`);
    const [name, ...args] = command.slice(entry + 1);
    assert.ok(name !== undefined && Object.hasOwn(subcommands, name), `${where}: ${name} is a ledger subcommand`);
    for (const arg of args) assert.ok(subcommands[name]!.usage.includes(arg), `${where}: ${subcommands[name]!.usage} takes ${arg}`);
  }
  assert.deepEqual(
    commands.map(([, command]) => command.slice(command.indexOf('services/cli/main.ts') + 1).join(' ')),
    ['serve', 'serve', 'relay', 'projections run'],
  );
});

test('the ledger, its projectors and its relay share one database and one topic', () => {
  const [ledger, projector, relay] = ['ledger', 'ledger-projector', 'ledger-relay'].map((name) => services[name]!.environment!);
  const postgres = services.postgres!.environment!;
  const url = `postgres://${postgres.POSTGRES_USER}:${postgres.POSTGRES_PASSWORD}@postgres:5432/${postgres.POSTGRES_DB}`;
  for (const env of [ledger, projector, relay]) {
    assert.equal(env!.DATABASE_URL, url);
    assert.equal(env!.KAFKA_BROKERS, 'kafka:9092');
    assert.equal(env!.KAFKA_TOPIC, ledger!.KAFKA_TOPIC);
  }
  // Two processes projecting would race: in Kafka mode the service must leave it to the group.
  assert.equal(ledger!.PROJECTOR_SOURCE, 'kafka');
  assert.match(String(ledger!.LEDGER_PROJECTOR), /^\$\{LEDGER_PROJECTOR:-off\}$/);
  for (const key of ['KAFKA_GROUP_ID', 'LEDGER_CRM_OWNERS', 'LEDGER_CRM_OWNER_ASSIGNMENT', 'LEDGER_PLAN_FEATURES']) {
    assert.equal(projector![key], ledger![key], key);
  }
});

test('the files compose mounts exist, and the services they name are in the stack', () => {
  const mounts = Object.values(services).flatMap((service) => (service.volumes ?? []).filter((v) => v.startsWith('./')));
  assert.ok(mounts.length >= 3);
  for (const mount of mounts) assert.ok(existsSync(mount.split(':')[0]!), mount);
  // Hosts named inside the mounted configuration files.
  const prometheus = readFileSync('deploy/prometheus/prometheus.yml', 'utf8');
  const collector = readFileSync('deploy/otel-collector.yaml', 'utf8');
  const hosts = [...prometheus.matchAll(/'([a-z-]+):\d+'/g), ...collector.matchAll(/endpoint: ([a-z-]+):\d+/g)].map((m) => m[1]!);
  assert.ok(hosts.length >= 3, 'scrape targets and exporter found');
  for (const host of hosts) assert.ok(services[host], `${host} is a compose service`);
  assert.match(prometheus, /- targets: \['ledger:3000'\]/);
  assert.ok(services.ledger!.ports!.includes('127.0.0.1:3000:3000'));
  assert.match(dockerfile, /ENV HOST=0\.0\.0\.0 PORT=3000/);
});

test("compose's Kafka is the broker version the tests run against", () => {
  const pinned = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync('kafka/pom.xml', 'utf8'))?.[1];
  assert.ok(pinned);
  assert.equal(services.kafka!.image, `apache/kafka:${pinned}`);
});

test('secrets kept in .env stay out of the image (COPY . .) and out of git', () => {
  assert.match(dockerfile, /^COPY \. \./m);
  for (const file of ['.dockerignore', '.gitignore']) assert.ok(readFileSync(file, 'utf8').split('\n').includes('.env'), file);
});
