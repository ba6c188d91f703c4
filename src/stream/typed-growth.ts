/** A copy of a typed array with room for `capacity` elements (the new tail is zero, or `fill`). */
export function growFloat64(from: Float64Array, capacity: number): Float64Array<ArrayBuffer> {
  const to = new Float64Array(capacity);
  to.set(from);
  return to;
}

export function growInt32(from: Int32Array, capacity: number, fill = 0): Int32Array<ArrayBuffer> {
  const to = new Int32Array(capacity);
  to.set(from);
  if (fill !== 0) to.fill(fill, from.length);
  return to;
}

export function growUint16(from: Uint16Array, capacity: number): Uint16Array<ArrayBuffer> {
  const to = new Uint16Array(capacity);
  to.set(from);
  return to;
}

export function growUint8(from: Uint8Array, capacity: number): Uint8Array<ArrayBuffer> {
  const to = new Uint8Array(capacity);
  to.set(from);
  return to;
}
