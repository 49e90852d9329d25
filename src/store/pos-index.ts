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
}
