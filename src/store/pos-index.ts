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
    let capacity = this.streams.length;
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

  /** Positions 0..head as bytes, for a snapshot's checkpoint. */
  export(head: number): { streams: string; offsets: string; lengths: string } {
    const bytes = (array: Uint32Array | Float64Array) => Buffer.from(array.buffer, array.byteOffset, Math.min(head + 1, array.length) * array.BYTES_PER_ELEMENT).toString('base64');
    return { streams: bytes(this.streams), offsets: bytes(this.offsets), lengths: bytes(this.lengths) };
  }

  /** Takes back what `export` gave. */
  import(saved: { streams: string; offsets: string; lengths: string }): void {
    const buffer = (b64: string, size: number) => {
      const bytes = Buffer.from(b64, 'base64');
      const copy = new ArrayBuffer(Math.max(bytes.length, 1024 * size));
      new Uint8Array(copy).set(bytes);
      return copy;
    };
    this.streams = new Uint32Array(buffer(saved.streams, 4));
    this.offsets = new Float64Array(buffer(saved.offsets, 8));
    this.lengths = new Uint32Array(buffer(saved.lengths, 4));
  }
}
