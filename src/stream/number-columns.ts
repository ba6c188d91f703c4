import { NumberColumn } from './number-column.ts';

/**
 * Rows of numbers in columns (a NumberColumn per field: 32-bit until a value needs more), addressed by slot: state that a worker
 * holds once per live order or window, kept off the JavaScript heap (see OrderRows). Freed slots
 * are reused before the columns grow.
 */
export class NumberColumns<F extends string> {
  private readonly fields: readonly F[];
  /** A plain object, not a Map: read on every summary and fan-in lookup. */
  private readonly columns = {} as Record<F, NumberColumn>;
  private readonly freeSlots: number[] = [];
  private used = 0;
  private capacity = 0;
  /** Called with the new capacity when the columns grow, so per-slot structures elsewhere grow with them. */
  private readonly onGrow: (capacity: number) => void;

  constructor(fields: readonly F[], onGrow: (capacity: number) => void = () => {}) {
    this.fields = fields;
    this.onGrow = onGrow;
    for (const field of fields) this.columns[field] = new NumberColumn();
  }

  /** A slot holding `row`. */
  add(row: Readonly<Record<F, number>>): number {
    const slot = this.freeSlots.pop() ?? this.used++;
    if (slot >= this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    this.write(slot, row);
    return slot;
  }

  write(slot: number, row: Readonly<Record<F, number>>): void {
    for (const field of this.fields) this.column(field).set(slot, row[field]);
  }

  value(slot: number, field: F): number {
    return this.column(field).get(slot);
  }

  /** Frees a slot for reuse (what it held is no longer read). */
  remove(slot: number): void {
    this.freeSlots.push(slot);
  }

  private column(field: F): NumberColumn {
    return this.columns[field];
  }

  private grow(capacity: number): void {
    for (const field of this.fields) this.column(field).grow(capacity);
    this.capacity = capacity;
    this.onGrow(capacity);
  }
}
