import { growInt32 } from './typed-growth.ts';

/** No slot: the end of a chain, or an empty one. */
export const NO_SLOT = -1;

/**
 * Chains of state slots (the orders of one product, of one pattern window), linked through two
 * typed arrays instead of a Set or an array per group: a worker holds one link per live order
 * and group, and as collections they were ~30-100 bytes each on the heap. A chain is named by
 * its head slot, which the caller keeps (in a map by group); linking or unlinking returns the
 * new head. A slot is in at most one chain of a SlotChains.
 */
export class SlotChains {
  private next = new Int32Array(0);
  private prev = new Int32Array(0);

  /** Makes room for slots below `capacity` (called as the rows grow). */
  grow(capacity: number): void {
    this.next = growInt32(this.next, capacity, NO_SLOT);
    this.prev = growInt32(this.prev, capacity, NO_SLOT);
  }

  /** Puts `slot` at the front of the chain starting at `head`; returns the new head (the slot). */
  link(slot: number, head: number): number {
    this.prev[slot] = NO_SLOT;
    this.next[slot] = head;
    if (head !== NO_SLOT) this.prev[head] = slot;
    return slot;
  }

  /** Takes `slot` out of the chain starting at `head`; returns the chain's head after (NO_SLOT: now empty). */
  unlink(slot: number, head: number): number {
    const before = this.prev[slot]!;
    const after = this.next[slot]!;
    if (after !== NO_SLOT) this.prev[after] = before;
    if (before !== NO_SLOT) this.next[before] = after;
    this.prev[slot] = NO_SLOT;
    this.next[slot] = NO_SLOT;
    return slot === head ? after : head;
  }

  /** The slots of the chain starting at `head`, in the order they were linked (the head is the last). */
  members(head: number): number[] {
    const slots: number[] = [];
    for (let slot = head; slot !== NO_SLOT; slot = this.next[slot]!) slots.push(slot);
    return slots.reverse();
  }
}
