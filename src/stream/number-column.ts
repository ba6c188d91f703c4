/**
 * One column of numbers by slot, held as 32-bit integers (4 bytes) until a value that is not one
 * arrives, then as Float64 (8 bytes) for good: ids, quantities and cents nearly always fit, and
 * a worker holds a million rows. -0 is held as 0 (=== does not tell them apart either).
 */
export class NumberColumn {
  private ints: Int32Array<ArrayBuffer> | null = new Int32Array(0);
  private floats: Float64Array<ArrayBuffer> | null = null;

  get(slot: number): number {
    return this.ints !== null ? this.ints[slot]! : this.floats![slot]!;
  }

  set(slot: number, value: number): void {
    if (this.ints !== null) {
      if ((value | 0) === value) {
        this.ints[slot] = value;
        return;
      }
      this.widen();
    }
    this.floats![slot] = value;
  }

  /** Makes room for slots below `capacity` (keeping what is held). */
  grow(capacity: number): void {
    if (this.ints !== null) {
      const ints = new Int32Array(capacity);
      ints.set(this.ints);
      this.ints = ints;
    } else {
      const floats = new Float64Array(capacity);
      floats.set(this.floats!);
      this.floats = floats;
    }
  }

  /** Whether the column still holds 32-bit integers (for tests and memory figures). */
  get narrow(): boolean {
    return this.ints !== null;
  }

  private widen(): void {
    const floats = new Float64Array(this.ints!.length);
    floats.set(this.ints!);
    this.floats = floats;
    this.ints = null;
  }
}
