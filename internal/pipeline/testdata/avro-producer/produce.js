// Test helper for the pipeline's Avro tests: registers an Avro schema with
// the schema registry, encodes the events read from stdin (one JSON object
// a line) in the Confluent wire format with @kafkajs/confluent-schema-registry
// (avsc underneath: an encoder independent of sessionize's decoder), and
// produces them in order with kafkajs, keyed by the user id.
//
// Usage: node produce.js BROKER REGISTRY TOPIC SUBJECT SCHEMA_FILE < events.jsonl
// Prints the registered schema id.
'use strict';
const fs = require('fs');
const readline = require('readline');
const { Kafka, logLevel } = require('kafkajs');
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');

async function main() {
  const [broker, registry, topic, subject, schemaFile] = process.argv.slice(2);
  const reg = new SchemaRegistry({ host: registry });
  const { id } = await reg.register(
    { type: SchemaType.AVRO, schema: fs.readFileSync(schemaFile, 'utf8') },
    { subject },
  );
  const messages = [];
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const ev = JSON.parse(line);
    messages.push({ key: ev.user.id, value: await reg.encode(id, ev) });
  }
  const kafka = new Kafka({ clientId: 'avro-test-producer', brokers: [broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  }
  await producer.disconnect();
  process.stdout.write(`${id}\n`);
}

main().catch((err) => {
  process.stderr.write(`produce.js: ${err.stack || err}\n`);
  process.exit(1);
});
