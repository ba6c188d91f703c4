import { describe, expect, it } from 'vitest';
import type { CustomerRow, ProductRow, SourceOrder } from '../domain/process-order.ts';
import { compileRules, DEFAULT_RULES } from '../domain/rules.ts';
import { OrderState } from '../stream/order-state.ts';
import { decodeStoreLines, laterVersions } from './file-source.ts';

const HEADER = 'order_id,customer_id,product_id,quantity,amount,status,created_at';
const STORE = 2_000_000_000_000;

describe('laterVersions', () => {
  it('takes the last version in name order of the touched orders only, from CSV and JSON Lines alike', () => {
    const later = [
      { name: 'pos-2-b.csv', lines: [HEADER, '5,7,3,1,10.00,PAID,2026-11-30T10:01:00Z', '6,7,3,1,20.00,PAID,2026-11-30T10:01:00Z', 'not,a,line'] },
      { name: 'pos-3-c.jsonl', lines: ['{"order_id":5,"customer_id":7,"product_id":3,"quantity":2,"amount":"20.00","status":"CANCELLED","created_at":"2026-11-30T10:01:00Z"}'] },
    ];
    const out = laterVersions(new Set([STORE + 5, STORE + 9]), later);
    expect(out).toEqual([{ id: STORE + 5, customerId: 7, productId: 3, quantity: 2, amountCents: 2000, status: 'CANCELLED', createdAt: Date.parse('2026-11-30T10:01:00Z') }]);
  });
});

/**
 * The demo's velocity mismatch (stream kept an alert the batch did not have) reproduced: a web
 * order and a store order of one customer in one 10-minute window, and a store order Z whose
 * cancellation is in a file named later (`…-990`) that arrived first, while the file creating Z
 * (named earlier, `…-991` of an earlier time) arrived after. The nightly read applies name order
 * (create, then cancel: Z is gone, no alert); the stream applied arrival order (cancel of an
 * order it did not have, then the create: Z live, the window above the total, an alert).
 */
describe('a store file that arrives after a later-named one', () => {
  const rules = compileRules({ ...DEFAULT_RULES, patterns: [{ name: 'velocity', kind: 'velocity', severity: 'MEDIUM', minOrders: 3, totalAbove: '3000.00', windowMinutes: 10 }] });
  const W0 = Date.UTC(2026, 10, 30, 10, 30);
  const customers = new Map<number, CustomerRow>([[135, { id: 135, tier: 'NEW' }]]);
  const products = new Map<number, ProductRow>([[10, { id: 10, category: 'books' }]]);
  const line = (id: number, status: string) => `${id},135,10,1,1100.00,${status},2026-11-30T10:33:00.000Z`;
  const cancelFile = { name: 'pos-20261130T235959000Z-990.csv', lines: [HEADER, line(99001, 'CANCELLED')] };
  const createFile = { name: 'pos-20261130T104124000Z-991.csv', lines: [HEADER, line(99001, 'PLACED')] };
  const ordersOf = (file: { name: string; lines: readonly string[] }): SourceOrder[] => decodeStoreLines(file.name, file.lines, 0, file.lines.length).flatMap(({ order }) => (order.ok ? [order.value] : []));

  const stream = (replay: boolean) => {
    const state = new OrderState(rules, { customer: (id) => customers.get(id), product: (id) => products.get(id) });
    const apply = (o: SourceOrder) => state.upsert(o, null);
    // A web order and an earlier store order of the customer, in the window.
    apply({ id: 12700, customerId: 135, productId: 10, quantity: 1, amountCents: 110_000, status: 'PAID', createdAt: W0 + 60_000 });
    apply({ id: STORE + 277, customerId: 135, productId: 10, quantity: 1, amountCents: 110_000, status: 'PAID', createdAt: W0 + 120_000 });
    // Arrival order: the later-named cancellation first, then the earlier-named creation.
    ordersOf(cancelFile).forEach(apply);
    const created = ordersOf(createFile);
    created.forEach(apply);
    if (replay) laterVersions(new Set(created.map((o) => o.id)), [cancelFile]).forEach(apply);
    return state;
  };

  it('without the re-send the stream keeps Z and the velocity alert the batch does not have', () => {
    const state = stream(false);
    expect(state.processed(STORE + 99001, 135)).toBeDefined();
    expect(state.patternAlert(135, 'velocity', W0)?.matchedOrderIds).toBe(`12700,${STORE + 277},${STORE + 99001}`);
  });

  it('with the later-named version re-sent the stream ends as name order does: Z cancelled, no alert', () => {
    // Name order (the nightly read, last change wins): the creation, then the cancellation.
    const nameOrder = [createFile, cancelFile].sort((a, b) => (a.name < b.name ? -1 : 1)).flatMap(ordersOf);
    expect(nameOrder.at(-1)?.status).toBe('CANCELLED');
    const state = stream(true);
    expect(state.processed(STORE + 99001, 135)).toBeUndefined();
    expect(state.patternAlert(135, 'velocity', W0)).toBeUndefined();
  });
});
