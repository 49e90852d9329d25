// One WebSocket to /v1/stream for the whole page: events in pos order and the posture, resumed from
// the last pos seen after any disconnect, so a view never misses or repeats an event.

const BACKOFF_MS = [250, 500, 1000, 2000, 4000];

export class LiveStream {
  /**
   * @param {{ from: number, token: () => string | null, onEvent: (e: object) => void,
   *           onPosture: (s: object) => void, onState: (state: string, detail?: string) => void }} options
   */
  constructor(options) {
    this.options = options;
    this.lastPos = options.from;
    this.attempt = 0;
    this.stopped = false;
    this.socket = undefined;
    this.connect();
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // A browser cannot set headers on an upgrade: the token goes in the query of this one request only.
    const query = new URLSearchParams({ from: String(this.lastPos), filter: '*', projections: 'posture', token: this.options.token() ?? '' });
    return `${scheme}://${location.host}/v1/stream?${query}`;
  }

  connect() {
    if (this.stopped) return;
    const socket = new WebSocket(this.url());
    this.socket = socket;
    this.options.onState('connecting');
    socket.addEventListener('message', (message) => this.receive(message.data));
    socket.addEventListener('close', (event) => this.closed(socket, event));
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.op === 'caught_up') {
      this.attempt = 0;
      this.options.onState('live');
    } else if (frame.op === 'projection' && frame.name === 'posture') {
      this.options.onPosture(frame.state);
    } else if (typeof frame.pos === 'number' && frame.stream) {
      // After a resume the server may send again what the kernel had taken but we never read: skip it.
      if (frame.pos <= this.lastPos) return;
      this.lastPos = frame.pos;
      this.options.onEvent(frame);
    }
  }

  closed(socket, event) {
    if (socket !== this.socket || this.stopped) return;
    if (event.code === 4000) {
      this.options.onState('refused', event.reason);
      return;
    }
    // The token was revoked or expired: reconnecting with it cannot work.
    if (event.code === 4003) {
      this.stopped = true;
      this.options.onState('revoked', event.reason);
      return;
    }
    const wait = BACKOFF_MS[Math.min(this.attempt++, BACKOFF_MS.length - 1)];
    this.options.onState('disconnected', `reconnecting from pos ${this.lastPos}`);
    setTimeout(() => this.connect(), wait);
  }

  stop() {
    this.stopped = true;
    this.socket?.close(1000, 'page closed');
  }
}
