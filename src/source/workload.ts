import { formatMoney } from '../domain/money.ts';
import { TIERS, type Tier } from '../domain/rules.ts';
import { pick, pickWeighted, randomInt, type Random } from './random.ts';

/**
 * The shape of the demo workload: relative weights of the five kinds of change, plus two
 * shares that decide what a new order and an update look like. The defaults follow what an
 * order system sees: mostly new orders, some status progress, a few cancellations and deletes,
 * the odd customer moving tier.
 */
export interface WorkloadMix {
  readonly insert: number;
  readonly update: number;
  readonly cancel: number;
  readonly delete: number;
  readonly tierChange: number;
  /** An order moved to another customer (a corrected account): it leaves one customer's partition for another's. */
  readonly move: number;
  /** Share of new orders that are big-ticket (amount ≥ LARGE_ORDER_MIN_CENTS), so fraud HIGH alerts occur. */
  readonly largeOrderShare: number;
  /** Share of updates that change the quantity (hence the amount) instead of advancing the status. */
  readonly amountChangeShare: number;
}

export const DEFAULT_MIX: WorkloadMix = Object.freeze({
  insert: 0.84,
  update: 0.08,
  cancel: 0.04,
  delete: 0.02,
  tierChange: 0.01,
  move: 0.01,
  largeOrderShare: 0.002,
  amountChangeShare: 0.25,
});

export type ChangeKind = 'insert' | 'update' | 'cancel' | 'delete' | 'tierChange' | 'move';

/**
 * A large order is at least 12 000.00: even after the largest default discount (15 %) and no tax
 * its final amount stays above the 10 000.00 HIGH fraud threshold.
 */
export const LARGE_ORDER_MIN_CENTS = 1_200_000;
/**
 * Ordinary orders only buy products under 1 500.00, so 5 × price plus any default tax stays
 * under 10 000.00: HIGH alerts come from large orders alone, at the rate the mix says. NEW-tier
 * orders above 1 000.00 (MEDIUM) still happen naturally on electronics and sports.
 */
export const REGULAR_PRICE_LIMIT_CENTS = 150_000;
export const MAX_QUANTITY = 5;

export interface CatalogueProduct {
  readonly id: number;
  readonly priceCents: number;
}

export interface CatalogueCustomer {
  readonly id: number;
  readonly tier: Tier;
}

/** An order status the generator still moves forward; CANCELLED orders leave its memory. */
export type LiveStatus = 'PLACED' | 'PAID' | 'SHIPPED';

/** What the generator remembers of one of its recent orders. */
export interface RecentOrder {
  readonly id: number;
  readonly productId: number;
  readonly priceCents: number;
  readonly quantity: number;
  readonly status: LiveStatus;
}

export interface NewOrderPlan {
  readonly customerId: number;
  readonly productId: number;
  readonly quantity: number;
  /** Exact two-place decimal: price × quantity. */
  readonly amount: string;
}

/** The full new version of an updated order (status, quantity and amount are all written). */
export interface OrderUpdatePlan {
  readonly order: RecentOrder;
  readonly amount: string;
}

/** An order given to another customer (the database leaves it alone if it is that customer's already). */
export interface MovePlan {
  readonly order: RecentOrder;
  readonly customerId: number;
}

export interface TierChangePlan {
  readonly customerId: number;
  readonly from: Tier;
  readonly to: Tier;
}

/** Everything one round trip to the source database does. */
export interface BatchPlan {
  readonly inserts: readonly NewOrderPlan[];
  readonly updates: readonly OrderUpdatePlan[];
  readonly cancels: readonly number[];
  readonly deletes: readonly number[];
  readonly tierChanges: readonly TierChangePlan[];
  readonly moves: readonly MovePlan[];
}

/** A row the database inserted, as RETURNING reports it. */
export interface InsertedOrder {
  readonly id: number;
  readonly productId: number;
  readonly quantity: number;
}

const NEXT_STATUS: Readonly<Record<LiveStatus, LiveStatus | undefined>> = { PLACED: 'PAID', PAID: 'SHIPPED', SHIPPED: undefined };

/** Throws a RangeError naming the field when a mix cannot be drawn from. */
export function validateMix(mix: WorkloadMix): void {
  for (const [key, value] of Object.entries(mix)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`workload mix: ${key} must be a non-negative number, got ${value}`);
  }
  if (!(mix.insert > 0)) throw new RangeError('workload mix: insert must be positive (the rate counts new orders)');
  if (mix.largeOrderShare > 1 || mix.amountChangeShare > 1) throw new RangeError('workload mix: shares must be at most 1');
}

/**
 * A bounded, unordered set of recent orders. Taking one removes it, so no two batches in flight
 * ever touch the same row (no lock waits, no deadlocks); when full, a new order replaces a random
 * old one, which keeps the memory bounded and the set biased towards recent orders.
 */
export class RecentOrders {
  private readonly entries: RecentOrder[] = [];
  readonly capacity: number;
  private readonly random: Random;

  constructor(
    capacity: number,
    random: Random,
  ) {
    this.capacity = capacity;
    this.random = random;
    if (!(capacity >= 1)) throw new RangeError(`recent orders capacity must be at least 1, got ${capacity}`);
  }

  get size(): number {
    return this.entries.length;
  }

  add(order: RecentOrder): void {
    if (this.entries.length < this.capacity) this.entries.push(order);
    else this.entries[Math.floor(this.random() * this.entries.length)] = order;
  }

  /** Removes and returns a random order, or undefined when there is none. */
  take(): RecentOrder | undefined {
    const n = this.entries.length;
    if (n === 0) return undefined;
    const index = Math.floor(this.random() * n);
    const chosen = this.entries[index] as RecentOrder;
    this.entries[index] = this.entries[n - 1] as RecentOrder;
    this.entries.pop();
    return chosen;
  }
}

export interface PlannerOptions {
  readonly mix?: WorkloadMix;
  /** How many recent orders are remembered for updates, cancels and deletes. */
  readonly recentCapacity?: number;
}

/**
 * Decides what each batch does; no I/O. The executor asks for a plan, runs it, then reports the
 * inserted rows back with `complete`, which is when they become candidates for later changes.
 */
export class WorkloadPlanner {
  readonly mix: WorkloadMix;
  readonly recent: RecentOrders;
  private readonly priceById: ReadonlyMap<number, number>;
  private readonly regular: readonly CatalogueProduct[];
  private readonly premium: readonly CatalogueProduct[];
  private readonly customers: CatalogueCustomer[];
  private readonly busyCustomers = new Set<number>();
  private readonly random: Random;

  constructor(
    catalogue: { readonly products: readonly CatalogueProduct[]; readonly customers: readonly CatalogueCustomer[] },
    random: Random,
    options: PlannerOptions = {},
  ) {
    this.random = random;
    this.mix = options.mix ?? DEFAULT_MIX;
    validateMix(this.mix);
    if (catalogue.products.length === 0) throw new RangeError('the workload needs at least one product');
    if (catalogue.customers.length === 0) throw new RangeError('the workload needs at least one customer');
    this.priceById = new Map(catalogue.products.map((p) => [p.id, p.priceCents]));
    const regular = catalogue.products.filter((p) => p.priceCents < REGULAR_PRICE_LIMIT_CENTS);
    // A catalogue of only expensive products (not ours) still gets orders, just not bounded ones.
    this.regular = regular.length > 0 ? regular : catalogue.products;
    this.premium = catalogue.products.filter((p) => p.priceCents * MAX_QUANTITY >= LARGE_ORDER_MIN_CENTS);
    this.customers = [...catalogue.customers];
    this.recent = new RecentOrders(options.recentCapacity ?? 50_000, random);
  }

  /** Draws changes from the mix until `orderCount` new orders are planned; the other kinds come along in proportion. */
  plan(orderCount: number): BatchPlan {
    const inserts: NewOrderPlan[] = [];
    const updates: OrderUpdatePlan[] = [];
    const cancels: number[] = [];
    const deletes: number[] = [];
    const tierChanges: TierChangePlan[] = [];
    const moves: MovePlan[] = [];
    const weights: Record<ChangeKind, number> = {
      insert: this.mix.insert,
      update: this.mix.update,
      cancel: this.mix.cancel,
      delete: this.mix.delete,
      tierChange: this.mix.tierChange,
      move: this.mix.move,
    };
    while (inserts.length < orderCount) {
      const kind = pickWeighted(this.random, weights);
      switch (kind) {
        case 'insert':
          inserts.push(this.newOrder());
          break;
        case 'update': {
          const order = this.recent.take();
          if (order) updates.push(this.updateOf(order));
          break;
        }
        case 'cancel': {
          const order = this.recent.take();
          if (order) cancels.push(order.id);
          break;
        }
        case 'delete': {
          const order = this.recent.take();
          if (order) deletes.push(order.id);
          break;
        }
        case 'tierChange': {
          const change = this.tierChange();
          if (change) tierChanges.push(change);
          break;
        }
        case 'move': {
          const order = this.recent.take();
          if (order) moves.push({ order, customerId: (pick(this.random, this.customers) as CatalogueCustomer).id });
          break;
        }
        default:
          assertNever(kind);
      }
    }
    return { inserts, updates, cancels, deletes, tierChanges, moves };
  }

  /**
   * Takes back what a batch did: its new orders and updated orders become candidates for later
   * changes, its customers free for another tier change. Cancelled and deleted orders are forgotten.
   */
  complete(plan: BatchPlan, inserted: readonly InsertedOrder[]): void {
    for (const row of inserted) {
      const priceCents = this.priceById.get(row.productId);
      if (priceCents !== undefined) this.recent.add({ id: row.id, productId: row.productId, priceCents, quantity: row.quantity, status: 'PLACED' });
    }
    for (const update of plan.updates) this.recent.add(update.order);
    for (const move of plan.moves) this.recent.add(move.order);
    for (const change of plan.tierChanges) this.busyCustomers.delete(change.customerId);
  }

  private newOrder(): NewOrderPlan {
    const customer = this.skewedCustomer();
    if (this.premium.length > 0 && this.random() < this.mix.largeOrderShare) {
      const product = pick(this.random, this.premium);
      const quantity = randomInt(this.random, Math.ceil(LARGE_ORDER_MIN_CENTS / product.priceCents), MAX_QUANTITY);
      return { customerId: customer.id, productId: product.id, quantity, amount: formatMoney(product.priceCents * quantity) };
    }
    const product = pick(this.random, this.regular);
    const quantity = randomInt(this.random, 1, MAX_QUANTITY);
    return { customerId: customer.id, productId: product.id, quantity, amount: formatMoney(product.priceCents * quantity) };
  }

  /** Loyal customers order more often: the square of a uniform draw favours the first ones. */
  private skewedCustomer(): CatalogueCustomer {
    const u = this.random();
    return this.customers[Math.floor(u * u * this.customers.length)] as CatalogueCustomer;
  }

  private updateOf(order: RecentOrder): OrderUpdatePlan {
    const next = NEXT_STATUS[order.status];
    if (next !== undefined && this.random() >= this.mix.amountChangeShare) {
      const advanced = { ...order, status: next };
      return { order: advanced, amount: formatMoney(advanced.priceCents * advanced.quantity) };
    }
    // A changed basket: another quantity, so another amount (on a shipped order, a partial return).
    let quantity = randomInt(this.random, 1, MAX_QUANTITY - 1);
    if (quantity >= order.quantity) quantity += 1;
    const changed = { ...order, quantity };
    return { order: changed, amount: formatMoney(changed.priceCents * quantity) };
  }

  /** Mostly a step up (loyalty), sometimes a step down; never two changes of one customer in flight. */
  private tierChange(): TierChangePlan | undefined {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const index = Math.floor(this.random() * this.customers.length);
      const customer = this.customers[index] as CatalogueCustomer;
      if (this.busyCustomers.has(customer.id)) continue;
      const rank = TIERS.indexOf(customer.tier);
      const up = rank === 0 || (rank < TIERS.length - 1 && this.random() < 0.75);
      const to = TIERS[up ? rank + 1 : rank - 1] as Tier;
      this.busyCustomers.add(customer.id);
      this.customers[index] = { id: customer.id, tier: to };
      return { customerId: customer.id, from: customer.tier, to };
    }
    return undefined;
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected change kind ${String(value)}`);
}
