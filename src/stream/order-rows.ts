import type { ProcessedOrder, ProcessedStatus, SourceOrder } from '../domain/process-order.ts';
import type { Tier } from '../domain/rules.ts';
import { NumberColumn } from './number-column.ts';
import { growFloat64, growUint16, growUint8 } from './typed-growth.ts';

/**
 * What the state keeps per order: the processed row when the order contributes, with the
 * customer's tier change time its escalation alerts were evaluated with (which its processed
 * record carries too; undefined for a row restored from a record written before records carried
 * it: unknown), or the raw order while a referenced customer or product is missing (so it can come back).
 */
export type OrderEntry = { readonly processed: ProcessedOrder; readonly tierChangedAt?: number | null; readonly orphan?: undefined } | { readonly processed: null; readonly orphan: SourceOrder };

const FREE = 0;
const PROCESSED = 1;
/** A processed row whose tier change time is unknown (restored from an older record). */
const PROCESSED_UNKNOWN_TIER_TIME = 2;
const ORPHAN = 3;

/**
 * The state's orders in columns: one typed array per field, indexed by a slot number. A worker
 * holds every live order (a million at the bench's end); as objects each cost ~180 bytes on the
 * heap and every major GC marked them all. In columns a row is ~60 bytes outside the heap,
 * and the collector never walks it. Rows are read back as objects only for the moment they are
 * needed (a change, a window's evaluation), and those die young. Ids, quantities and cents are
 * 32-bit columns until a value does not fit (NumberColumn); times are Float64.
 *
 * Orphans (waiting for a customer or product) are rare and stay objects.
 */
export class OrderRows {
  private capacity = 0;
  private kind = new Uint8Array(0);
  private readonly orderIds = new NumberColumn();
  private readonly customerIds = new NumberColumn();
  private readonly productIds = new NumberColumn();
  private readonly quantity = new NumberColumn();
  private readonly amountCents = new NumberColumn();
  private readonly discountCents = new NumberColumn();
  private readonly taxCents = new NumberColumn();
  private readonly finalCents = new NumberColumn();
  private createdAts = new Float64Array(0);
  /** NaN: null (no tier change known). */
  private tierChangedAt = new Float64Array(0);
  private tier = new Uint16Array(0);
  private status = new Uint16Array(0);
  private category = new Uint16Array(0);
  private readonly tiers = new Interner<Tier>();
  private readonly statuses = new Interner<ProcessedStatus>();
  private readonly categories = new Interner<string>();
  private readonly orphans = new Map<number, SourceOrder>();
  /** Slots freed by deletes, reused before the arrays grow. */
  private readonly freeSlots: number[] = [];
  private used = 0;
  /** Called with the new capacity whenever the columns grow, so per-slot structures elsewhere grow with them. */
  private readonly onGrow: (capacity: number) => void;

  constructor(onGrow: (capacity: number) => void = () => {}) {
    this.onGrow = onGrow;
  }

  /** A slot holding `entry`. */
  add(entry: OrderEntry): number {
    const slot = this.freeSlots.pop() ?? this.used++;
    if (slot >= this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    this.write(slot, entry);
    return slot;
  }

  /** Puts `entry` in the place of what the slot held. */
  write(slot: number, entry: OrderEntry): void {
    this.orphans.delete(slot);
    const p = entry.processed;
    if (!p) {
      const o = entry.orphan;
      this.kind[slot] = ORPHAN;
      this.orphans.set(slot, o);
      this.orderIds.set(slot, o.id);
      this.customerIds.set(slot, o.customerId);
      this.productIds.set(slot, o.productId);
      this.createdAts[slot] = o.createdAt;
      return;
    }
    const tierChangedAt = entry.tierChangedAt;
    this.kind[slot] = tierChangedAt === undefined ? PROCESSED_UNKNOWN_TIER_TIME : PROCESSED;
    this.tierChangedAt[slot] = tierChangedAt ?? Number.NaN;
    this.orderIds.set(slot, p.orderId);
    this.customerIds.set(slot, p.customerId);
    this.productIds.set(slot, p.productId);
    this.quantity.set(slot, p.quantity);
    this.amountCents.set(slot, p.amountCents);
    this.discountCents.set(slot, p.discountCents);
    this.taxCents.set(slot, p.taxCents);
    this.finalCents.set(slot, p.finalCents);
    this.createdAts[slot] = p.createdAt;
    this.tier[slot] = this.tiers.id(p.customerTier);
    this.status[slot] = this.statuses.id(p.status);
    this.category[slot] = this.categories.id(p.productCategory);
  }

  /** Frees a slot for reuse. */
  remove(slot: number): void {
    this.kind[slot] = FREE;
    this.orphans.delete(slot);
    this.freeSlots.push(slot);
  }

  /** The entry a slot holds, as a new object. */
  read(slot: number): OrderEntry {
    const kind = this.kind[slot];
    if (kind === ORPHAN) return { processed: null, orphan: this.orphans.get(slot)! };
    if (kind === FREE) throw new Error(`order state slot ${slot} is free: a state bug`);
    const processed = this.processedAt(slot);
    if (kind === PROCESSED_UNKNOWN_TIER_TIME) return { processed };
    const tierChangedAt = this.tierChangedAt[slot]!;
    return { processed, tierChangedAt: Number.isNaN(tierChangedAt) ? null : tierChangedAt };
  }

  /** The processed row a (non-orphan) slot holds, as a new object. */
  processedAt(slot: number): ProcessedOrder {
    return {
      orderId: this.orderIds.get(slot),
      customerId: this.customerIds.get(slot),
      customerTier: this.tiers.value(this.tier[slot]!),
      productId: this.productIds.get(slot),
      productCategory: this.categories.value(this.category[slot]!),
      quantity: this.quantity.get(slot),
      amountCents: this.amountCents.get(slot),
      discountCents: this.discountCents.get(slot),
      taxCents: this.taxCents.get(slot),
      finalCents: this.finalCents.get(slot),
      status: this.statuses.value(this.status[slot]!),
      createdAt: this.createdAts[slot]!,
    };
  }

  /** The (customer, order) row a slot holds (processed or orphan). */
  ref(slot: number): { readonly customerId: number; readonly orderId: number } {
    return { customerId: this.customerIds.get(slot), orderId: this.orderIds.get(slot) };
  }

  /** The product a slot's order joins (processed or orphan). */
  productId(slot: number): number {
    return this.productIds.get(slot);
  }

  private grow(capacity: number): void {
    this.kind = growUint8(this.kind, capacity);
    this.orderIds.grow(capacity);
    this.customerIds.grow(capacity);
    this.productIds.grow(capacity);
    this.quantity.grow(capacity);
    this.amountCents.grow(capacity);
    this.discountCents.grow(capacity);
    this.taxCents.grow(capacity);
    this.finalCents.grow(capacity);
    this.createdAts = growFloat64(this.createdAts, capacity);
    this.tierChangedAt = growFloat64(this.tierChangedAt, capacity);
    this.tier = growUint16(this.tier, capacity);
    this.status = growUint16(this.status, capacity);
    this.category = growUint16(this.category, capacity);
    this.capacity = capacity;
    this.onGrow(capacity);
  }
}

/** Small numbers for the few distinct strings of a column (tiers, statuses, categories). */
class Interner<T extends string> {
  private readonly ids = new Map<T, number>();
  private readonly values: T[] = [];

  id(value: T): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      // A Uint16 column: far more than the distinct tiers, statuses or product categories a shop has.
      if (id > 0xffff) throw new Error(`more than 65 536 distinct values in one order state column (at ${JSON.stringify(value)})`);
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }

  value(id: number): T {
    return this.values[id]!;
  }
}
