/**
 * Decode cost in Node of one CDC order record, two ways: JSON (what the connector writes today,
 * JsonConverter without schemas, decoded by src/stream/cdc-decode.ts) and Avro in the Confluent
 * wire format (magic byte, 4-byte schema id, Avro binary: what Debezium's AvroConverter writes
 * through a schema registry), decoded with `avsc` and then read field by field the same way.
 * Prints records/s for each, the bytes per record, and last the Avro/JSON decode-time ratio.
 */
import avro from 'avsc';
import { decodeOrder } from '../src/stream/cdc-decode.ts';

const N = Number(process.env.N ?? 300_000);
const ROUNDS = 5;

// What ExtractNewRecordState emits for public.orders with decimal.handling.mode=string.
const avroType = avro.Type.forSchema({
  type: 'record',
  name: 'Value',
  namespace: 'cdc.public.orders',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'customer_id', type: 'long' },
    { name: 'product_id', type: 'long' },
    { name: 'quantity', type: 'int' },
    { name: 'amount', type: 'string' },
    { name: 'status', type: 'string' },
    { name: 'created_at', type: 'string' },
    { name: 'updated_at', type: 'string' },
    { name: '__op', type: ['null', 'string'], default: null },
    { name: '__source_ts_ms', type: ['null', 'long'], default: null },
    { name: '__lsn', type: ['null', 'long'], default: null },
    { name: '__deleted', type: ['null', 'string'], default: null },
  ],
});

function row(i: number) {
  const at = new Date(Date.UTC(2026, 10, 25, 0, 0, 0) + i * 37).toISOString();
  return {
    id: 1_000_000 + i,
    customer_id: 1 + (i % 5_000),
    product_id: 1 + (i % 700),
    quantity: 1 + (i % 5),
    amount: `${(i % 100_000) + 1}.${String(i % 100).padStart(2, '0')}`,
    status: ['PLACED', 'PAID', 'SHIPPED'][i % 3]!,
    created_at: at,
    updated_at: at,
    __op: 'c',
    __source_ts_ms: 1_795_000_000_000 + i,
    __lsn: 90_000_000 + i * 200,
    __deleted: 'false',
  };
}

const keys: Buffer[] = [];
const jsonValues: Buffer[] = [];
const avroValues: Buffer[] = [];
for (let i = 0; i < N; i++) {
  const r = row(i);
  keys.push(Buffer.from(`{"id":${r.id}}`));
  jsonValues.push(Buffer.from(JSON.stringify(r)));
  const header = Buffer.alloc(5);
  header.writeUInt32BE(7, 1);
  avroValues.push(Buffer.concat([header, avroType.toBuffer(r)]));
}

function timeJson(): number {
  const t0 = process.hrtime.bigint();
  let ok = 0;
  for (let i = 0; i < N; i++) if (decodeOrder(keys[i]!, jsonValues[i]!).ok) ok++;
  if (ok !== N) throw new Error(`json: ${N - ok} records failed to decode`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** JSON.parse alone: the part of the JSON path a change of format would replace. */
function timeJsonParse(): number {
  const t0 = process.hrtime.bigint();
  let ok = 0;
  for (let i = 0; i < N; i++) if (typeof (JSON.parse(jsonValues[i]!.toString('utf8')) as { id?: unknown }).id === 'number') ok++;
  if (ok !== N) throw new Error(`json.parse: ${N - ok} records failed`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function timeAvro(): number {
  const t0 = process.hrtime.bigint();
  let ok = 0;
  for (let i = 0; i < N; i++) {
    const buf = avroValues[i]!;
    if (buf[0] !== 0) continue;
    const v = avroType.fromBuffer(buf.subarray(5)) as ReturnType<typeof row>;
    // The same reads as cdc-decode: integers, the decimal string, a timestamp.
    if (typeof v.id === 'number' && typeof v.amount === 'string' && Number.isFinite(Date.parse(v.created_at))) ok++;
  }
  if (ok !== N) throw new Error(`avro: ${N - ok} records failed to decode`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const jsonTimes: number[] = [];
const avroTimes: number[] = [];
const parseTimes: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  jsonTimes.push(timeJson());
  parseTimes.push(timeJsonParse());
  avroTimes.push(timeAvro());
}
const best = (xs: number[]) => Math.min(...xs);
const avg = (bufs: Buffer[]) => bufs.reduce((s, b) => s + b.length, 0) / bufs.length;
console.log(`records ${N}, best of ${ROUNDS} rounds`);
console.log(`json (JSON.parse + cdc-decode): ${Math.round(N / best(jsonTimes))} records/s, ${avg(jsonValues).toFixed(0)} bytes/record`);
console.log(`json (JSON.parse alone): ${Math.round(N / best(parseTimes))} records/s`);
console.log(`avro (avsc, Confluent framing): ${Math.round(N / best(avroTimes))} records/s, ${avg(avroValues).toFixed(0)} bytes/record`);
console.log(`avro/json decode time ${(best(avroTimes) / best(jsonTimes)).toFixed(2)}`);
