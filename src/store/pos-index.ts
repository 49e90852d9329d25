/**
 * Where each position lives: stream, byte offset and length, in typed arrays indexed by pos
 * (16 bytes an event), so a reader can resume from any pos without scanning every file.
 */
export class PosIndex {
  private streams = new Uint32Array(1024);
  private offsets = new Float64Array(1024);
  private lengths = new Uint32Array(1024);

  set(pos: number, streamIdx: number, offset: number, length: number): void {
    if (pos >= this.streams.length) this.grow(pos);
    this.streams[pos] = streamIdx;
    this.offsets[pos] = offset;
    this.lengths[pos] = length;
  }

  /** 0 when no committed event has this position. */
  streamAt(pos: number): number {
    return pos < this.streams.length ? this.streams[pos] : 0;
  }

  offsetAt(pos: number): number {
    return this.offsets[pos];
  }

  lengthAt(pos: number): number {
    return this.lengths[pos];
  }

  private grow(pos: number): void {
    let capacity = Math.max(this.streams.length, 1024);
    while (capacity <= pos) capacity *= 2;
    const streams = new Uint32Array(capacity);
    streams.set(this.streams);
    const offsets = new Float64Array(capacity);
    offsets.set(this.offsets);
    const lengths = new Uint32Array(capacity);
    lengths.set(this.lengths);
    this.streams = streams;
    this.offsets = offsets;
    this.lengths = lengths;
  }

  /**
   * Positions 0..head as they are, for a snapshot's checkpoint: views, not copies. A position up to
   * head is never set again and `grow` moves to new arrays, so the views keep what they show.
   */
  export(head: number): PackedPosIndex {
    const count = Math.min(head + 1, this.streams.length);
    return { streams: this.streams.subarray(0, count), offsets: this.offsets.subarray(0, count), lengths: this.lengths.subarray(0, count) };
  }

  /**
   * Takes back what `export` gave, as bytes (a snapshot's binary parts): used where they lie when
   * aligned (the first position past them moves the index to arrays of its own), else copied.
   */
  import(saved: { [K in keyof PackedPosIndex]: ArrayBufferView }): void {
    const view = <T>(bytes: ArrayBufferView, Type: { new (buffer: ArrayBufferLike, offset: number, length: number): T; BYTES_PER_ELEMENT: number }): T => {
      const size = Type.BYTES_PER_ELEMENT;
      if (bytes.byteOffset % size === 0) return new Type(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / size));
      const copy = new ArrayBuffer(bytes.byteLength);
      new Uint8Array(copy).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return new Type(copy, 0, Math.floor(bytes.byteLength / size));
    };
    this.streams = view(saved.streams, Uint32Array);
    this.offsets = view(saved.offsets, Float64Array);
    this.lengths = view(saved.lengths, Uint32Array);
  }
}

/** The index's arrays up to a position: a snapshot writes them as they are in memory, beside its JSON. */
export interface PackedPosIndex {
  streams: Uint32Array;
  offsets: Float64Array;
  lengths: Uint32Array;
}
