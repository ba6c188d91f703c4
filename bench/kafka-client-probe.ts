import { Admin, Producer, Consumer, stringSerializers, FetchIsolationLevels } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
const brokers = ['127.0.0.1:59092'];
const topic = `kc-bench-probe-${Math.random().toString(36).slice(2, 8)}`;
const admin = new Admin({ clientId: 'probe', bootstrapBrokers: brokers });
await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
const p = new Producer({ clientId: 'probe-p', bootstrapBrokers: brokers, idempotent: true, transactionalId: `${topic}-tx`, serializers: stringSerializers });
const seq: Array<[string, boolean]> = [['a1', false], ['c1', true], ['a2', false], ['c2', true], ['a3', false], ['c3', true]];
for (const [v, commit] of seq) {
  const t = await p.beginTransaction();
  await t.send({ messages: [{ topic, key: v, value: v }, { topic, key: v, value: v + 'x' }] });
  if (commit) await t.commit(); else await t.abort();
}
await p.close();
console.log('produced');
// platformatic read
const c = new Consumer({ clientId: 'probe-c', groupId: `${topic}-g`, bootstrapBrokers: brokers, isolationLevel: FetchIsolationLevels.READ_COMMITTED, maxWaitTime: 500 });
const stream = await c.consume({ topics: [topic], mode: 'earliest', autocommit: false });
const got: string[] = [];
const timer = setTimeout(() => void stream.close(), 4000);
for await (const m of stream) got.push(String(m.value));
clearTimeout(timer);
await c.close();
console.log('platformatic read_committed', got);
// kafkajs read
const k = new kafkajs.Kafka({ clientId: 'probe-k', brokers, logLevel: kafkajs.logLevel.WARN });
const kc = k.consumer({ groupId: `${topic}-gk` });
await kc.connect(); await kc.subscribe({ topic, fromBeginning: true });
const got2: string[] = [];
await kc.run({ eachMessage: async ({ message }) => { got2.push(String(message.value)); } });
await new Promise((r) => setTimeout(r, 6000));
await kc.disconnect();
console.log('kafkajs read_committed', got2);
// kafkajs txn produce
const kp = k.producer({ transactionalId: `${topic}-ktx`, idempotent: true, maxInFlightRequests: 1 });
await kp.connect();
const tx = await kp.transaction();
await tx.send({ topic, messages: [{ key: 'k', value: 'kjs' }] });
await tx.commit();
await kp.disconnect();
console.log('kafkajs txn ok');
await admin.deleteTopics({ topics: [topic] });
await admin.close();
