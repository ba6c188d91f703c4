import { formatMoney } from '../domain/money.ts';
import type { OrderStatus } from '../domain/rules.ts';
import { MAX_EXTERNAL_ID } from '../sources/order-input.ts';
import { pick, randomInt, type Random } from '../source/random.ts';
import type { CatalogueCustomer, CatalogueProduct } from '../source/workload.ts';

/** One order change as the partner API serves it and the store files hold it (each source's own id). */
export interface ExternalOrderRecord {
  readonly order_id: number;
  readonly customer_id: number;
  readonly product_id: number;
  readonly quantity: number;
  readonly amount: string;
  readonly status: OrderStatus;
  readonly created_at: string;
}

/** Where a run's external ids start: minutes since 2020 × 100 000, so runs a minute apart never share an id. */
export function externalIdBase(nowMs: number): number {
  return Math.floor((nowMs - Date.UTC(2020, 0, 1)) / 60_000) * ORDERS_PER_RUN;
}

/** At most this many orders per channel and run (the id block of one minute). */
export const ORDERS_PER_RUN = 100_000;
const MAX_QUANTITY = 3;
const LIVE_STATUSES: readonly OrderStatus[] = ['PLACED', 'PAID', 'SHIPPED'];

/**
 * The orders one demo channel (partner API or store files) creates during a run, and their later
 * versions: new orders for the seeded customers and products, corrections (another quantity, so
 * another amount) and cancellations of earlier ones. It remembers the last version of each, so the
 * demo knows what the stream must end up with (live rows and their quantities). Pure.
 */
export class ExternalOrderBook {
  private readonly latest = new Map<number, ExternalOrderRecord>();
  private nextId: number;
  private readonly endId: number;
  /** The ids this book hands out, [from, to). */
  readonly idRange: { readonly from: number; readonly to: number };
  private readonly prices: ReadonlyMap<number, number>;
  private readonly catalogue: { readonly customers: readonly CatalogueCustomer[]; readonly products: readonly CatalogueProduct[] };
  private readonly random: Random;

  constructor(
    catalogue: { readonly customers: readonly CatalogueCustomer[]; readonly products: readonly CatalogueProduct[] },
    random: Random,
    firstId: number,
  ) {
    this.catalogue = catalogue;
    this.random = random;
    if (catalogue.customers.length === 0 || catalogue.products.length === 0) throw new Error('the demo source has no customers or products to order');
    this.nextId = firstId;
    this.endId = Math.min(firstId + ORDERS_PER_RUN, MAX_EXTERNAL_ID);
    this.idRange = { from: firstId, to: this.endId };
    this.prices = new Map(catalogue.products.map((p) => [p.id, p.priceCents]));
  }

  /** A new order created at `nowMs`; undefined once the run's id block is used up. */
  create(nowMs: number): ExternalOrderRecord | undefined {
    if (this.nextId >= this.endId) return undefined;
    const customer = pick(this.random, this.catalogue.customers);
    const product = pick(this.random, this.catalogue.products);
    const quantity = randomInt(this.random, 1, MAX_QUANTITY);
    return this.record({ order_id: this.nextId++, customer_id: customer.id, product_id: product.id, quantity, amount: formatMoney(product.priceCents * quantity), status: pick(this.random, LIVE_STATUSES), created_at: new Date(nowMs).toISOString() });
  }

  /** A later version of a live order with another quantity (and so another amount); the id picks it, else a random one. */
  correct(id?: number): ExternalOrderRecord | undefined {
    const order = this.liveOrder(id);
    if (!order) return undefined;
    const quantity = order.quantity === MAX_QUANTITY ? 1 : order.quantity + 1;
    return this.record({ ...order, quantity, amount: formatMoney((this.prices.get(order.product_id) ?? 0) * quantity) });
  }

  /** The cancellation of a live order (the id picks it, else a random one). */
  cancel(id?: number): ExternalOrderRecord | undefined {
    const order = this.liveOrder(id);
    return order ? this.record({ ...order, status: 'CANCELLED' }) : undefined;
  }

  /** The last version of every order that is not cancelled: what the stream must hold. */
  live(): { readonly orders: number; readonly quantity: number } {
    let orders = 0;
    let quantity = 0;
    for (const o of this.latest.values()) {
      if (o.status === 'CANCELLED') continue;
      orders++;
      quantity += o.quantity;
    }
    return { orders, quantity };
  }

  private liveOrder(id: number | undefined): ExternalOrderRecord | undefined {
    if (id !== undefined) {
      const order = this.latest.get(id);
      return order && order.status !== 'CANCELLED' ? order : undefined;
    }
    const ids = [...this.latest.keys()];
    for (let attempt = 0; attempt < 5 && ids.length > 0; attempt++) {
      const order = this.latest.get(pick(this.random, ids))!;
      if (order.status !== 'CANCELLED') return order;
    }
    return undefined;
  }

  private record(order: ExternalOrderRecord): ExternalOrderRecord {
    this.latest.set(order.order_id, order);
    return order;
  }
}
