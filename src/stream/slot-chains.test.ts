import { describe, expect, it } from 'vitest';
import { NO_SLOT, SlotChains } from './slot-chains.ts';

describe('SlotChains', () => {
  function chainOf(...slots: number[]): { chains: SlotChains; head: number } {
    const chains = new SlotChains();
    chains.grow(16);
    let head = NO_SLOT;
    for (const slot of slots) head = chains.link(slot, head);
    return { chains, head };
  }

  it('lists a chain in the order its slots were linked', () => {
    const { chains, head } = chainOf(3, 7, 1);
    expect(head).toBe(1);
    expect(chains.members(head)).toEqual([3, 7, 1]);
    expect(chains.members(NO_SLOT)).toEqual([]);
  });

  it('unlinks the head, a middle slot and the tail, returning the head after', () => {
    const { chains, head } = chainOf(3, 7, 1, 9);
    let h = chains.unlink(9, head); // the head
    expect(h).toBe(1);
    h = chains.unlink(7, h); // the middle
    expect(h).toBe(1);
    expect(chains.members(h)).toEqual([3, 1]);
    h = chains.unlink(3, h); // the tail
    expect(chains.members(h)).toEqual([1]);
    expect(chains.unlink(1, h)).toBe(NO_SLOT);
  });

  it('keeps two chains apart, and a slot relinked goes to the end of its new chain', () => {
    const chains = new SlotChains();
    chains.grow(8);
    let a = NO_SLOT;
    let b = NO_SLOT;
    for (const slot of [0, 1, 2]) a = chains.link(slot, a);
    for (const slot of [5, 6]) b = chains.link(slot, b);
    a = chains.unlink(1, a);
    b = chains.link(1, b);
    expect(chains.members(a)).toEqual([0, 2]);
    expect(chains.members(b)).toEqual([5, 6, 1]);
  });

  it('keeps its links when it grows', () => {
    const chains = new SlotChains();
    chains.grow(2);
    let head = chains.link(0, NO_SLOT);
    head = chains.link(1, head);
    chains.grow(2048);
    head = chains.link(2000, head);
    expect(chains.members(head)).toEqual([0, 1, 2000]);
  });
});
