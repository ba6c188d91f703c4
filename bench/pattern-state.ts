/**
 * The fraud patterns' cost in the processor's state step alone (no Kafka, no encoding): 300 000
 * order changes of bench/processor-input.ts's shape (10 000 customers, one in five NEW, 200
 * products, an order every 60 ms of event time, ~5% updates, ~2% cancellations, a tier change
 * every 3 000 changes) through stage 2 (OrderState) and, when a fan-in pattern is configured,
 * stage 3 (FanInState) fed with stage 2's contributions, as the processor loop does. Runs each
 * pattern set `--runs` times interleaved (default 5) and prints the median CPU time of each; the
 * last line is the default patterns' rate.
 *
 *   npx tsx bench/pattern-state.ts [--changes 300000] [--runs 5]
 */
import type { CustomerRow, ProductRow, SourceOrder } from '../src/domain/process-order.ts';
import { DEFAULT_PATTERNS, isFanIn, type PatternRule } from '../src/domain/patterns.ts';
import { compileRules, DEFAULT_RULES, type Tier } from '../src/domain/rules.ts';
import { FanInState } from '../src/stream/fan-in-state.ts';
import { OrderState, type Emission } from '../src/stream/order-state.ts';

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const CHANGES = arg('changes', 300_000);
const RUNS = arg('runs', 5);
const CUSTOMERS = 10_000;
const PRODUCTS = 200;
const TIERS: readonly Tier[] = ['NEW', 'BRONZE', 'SILVER', 'GOLD', 'PLATINUM'];
const CATEGORIES = ['books', 'electronics', 'groceries', 'garden'];
const T0 = Date.UTC(2026, 10, 25, 0, 0, 0);

const sets: Readonly<Record<string, readonly PatternRule[]>> = {
  'no patterns': [],
  'velocity + escalation': DEFAULT_PATTERNS.filter((p) => p.kind !== 'fan-in'),
  'defaults (+ fan-in)': DEFAULT_PATTERNS,
};

function run(patterns: readonly PatternRule[]): { cpuMs: number; fanInAlerts: number; parts: number } {
  const rules = compileRules({ ...DEFAULT_RULES, patterns });
  const customers = new Map<number, CustomerRow>();
  for (let c = 1; c <= CUSTOMERS; c++) customers.set(c, { id: c, tier: TIERS[c % 5]! });
  const products = new Map<number, ProductRow>();
  for (let p = 1; p <= PRODUCTS; p++) products.set(p, { id: p, category: CATEGORIES[p % 4]! });
  const state = new OrderState(rules, { customer: (id) => customers.get(id), product: (id) => products.get(id) });
  const stage3 = new FanInState(rules.patterns.filter(isFanIn));
  let fanInAlerts = 0;
  let parts = 0;
  const feed = (emissions: readonly Emission[]) => {
    for (const e of emissions) {
      if (e.kind !== 'contribution') continue;
      parts++;
      for (const out of stage3.apply(e, e.finalCents)) if (out.kind === 'alert' && out.alert) fanInAlerts++;
    }
  };
  const started = process.cpuUsage();
  let id = 0;
  for (let i = 0; i < CHANGES; i++) {
    if (i % 3_000 === 2_999) {
      const c = 1 + (i % CUSTOMERS);
      customers.set(c, { id: c, tier: TIERS[(TIERS.indexOf(customers.get(c)!.tier) + 1) % 5]!, tierChangedAt: T0 + id * 60 });
      feed(state.customerChanged(c));
      continue;
    }
    const r = (i * 2_654_435_761) % 100;
    const target = r < 5 && id > 100 ? id - 1 - ((i * 7919) % 100) : r < 7 && id > 100 ? id - 1 - ((i * 104_729) % 100) : ++id;
    const order: SourceOrder = {
      id: target,
      customerId: 1 + (target % CUSTOMERS),
      productId: 1 + (target % PRODUCTS),
      quantity: 1,
      amountCents: 1_000 + ((target * 7919) % 500_000),
      status: r < 5 ? 'PAID' : r < 7 ? 'CANCELLED' : 'PLACED',
      createdAt: T0 + target * 60,
    };
    const result = state.upsert(order, null);
    if ('emissions' in result) feed(result.emissions);
  }
  const used = process.cpuUsage(started);
  return { cpuMs: (used.user + used.system) / 1_000, fanInAlerts, parts };
}

const times = new Map<string, number[]>(Object.keys(sets).map((name) => [name, []]));
let last: { fanInAlerts: number; parts: number } = { fanInAlerts: 0, parts: 0 };
for (let r = 0; r < RUNS; r++) {
  for (const [name, patterns] of Object.entries(sets)) {
    const result = run(patterns);
    times.get(name)!.push(result.cpuMs);
    if (name === 'defaults (+ fan-in)') last = result;
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, xs] of times) console.log(`${name.padEnd(24)} median CPU ${(median(xs) / 1_000).toFixed(2)} s for ${CHANGES} changes (${Math.round(CHANGES / (median(xs) / 1_000))} changes/s)`);
console.log(`fan-in: ${last.parts} parts written to stage 3, ${last.fanInAlerts} alert writes`);
console.log(`state changes/s ${Math.round(CHANGES / (median(times.get('defaults (+ fan-in)')!) / 1_000))}`);
