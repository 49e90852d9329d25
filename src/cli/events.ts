import { BmoError } from '../errors.js';
import { badPattern, streamFilter } from '../store/filter.js';
import { safeJson, type Connection } from './connect.js';
import { eventLine } from './format.js';

export interface TailOptions {
  follow: boolean;
  from: number;
  filter: string;
  json: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/**
 * `bmo events tail`: over the WebSocket stream when a server runs (reconnecting from the last
 * position it printed), or straight from the log when the CLI opened the data directory itself.
 */
export async function tailEvents(connection: Connection, options: TailOptions): Promise<void> {
  const filter = streamFilter(options.filter);
  if (!filter) throw new BmoError('bad_request', `--stream: "${badPattern(options.filter)}" is not a stream pattern; use *, <kind>/* or <kind>/<id>, comma-separated`);
  const print = (line: string, envelope: { pos: number; at: string; stream: string; seq: number; type: string; data?: unknown }) =>
    options.out.write(`${options.json ? line : eventLine(envelope)}\n`);

  if (connection.local) {
    const { store } = connection.local.pipeline;
    let pos = options.from;
    while (pos < store.head()) {
      const { events, next } = await store.readAll(pos, { filter, limit: 1000 });
      for (const { envelope, line } of events) print(line.toString('utf8').trimEnd(), envelope);
      pos = next;
    }
    if (options.follow) options.err.write('bmo: no server is running, so nothing new can be appended; showing the stored events only\n');
    return;
  }

  const { default: WebSocket } = await import('ws'); // loaded here only: the other verbs start without it
  let last = options.from;
  let why = '';
  for (let attempt = 0; ; attempt++) {
    const outcome = await new Promise<'done' | 'retry'>((resolve, reject) => {
      const url = `${connection.url.replace(/^http/, 'ws')}/v1/stream?from=${last}&filter=${encodeURIComponent(options.filter)}`;
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${connection.token}` } });
      // Connected again: the count of attempts in a row starts over, also when no event comes for a while.
      socket.on('open', () => {
        if (attempt > 0) options.err.write(`bmo: stream resumed from pos ${last}\n`);
        attempt = 0;
      });
      socket.on('message', (data) => {
        const text = data.toString();
        const frame = JSON.parse(text);
        if (frame.op === 'caught_up' && !options.follow) {
          socket.close(1000);
          resolve('done');
          return;
        }
        if (frame.op) return;
        last = frame.pos;
        print(text, frame);
      });
      socket.on('unexpected-response', (_req, res) => {
        // The server's own message says what is wrong (a bad token, an Origin not allowed).
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk));
        res.on('end', () => {
          const said = (safeJson(body) as { message?: unknown } | undefined)?.message;
          const message = `the stream refused the connection: ${typeof said === 'string' ? said : `HTTP ${res.statusCode}`}`;
          reject(new BmoError(res.statusCode === 401 ? 'unauthorized' : res.statusCode === 403 ? 'forbidden' : 'bad_request', message));
        });
      });
      socket.on('close', (code, reason) => {
        why = code === 1006 ? 'no answer' : `${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`;
        if (code === 1000) resolve('done');
        else if (code === 4000) reject(new BmoError('bad_request', reason.toString()));
        else resolve('retry');
      });
      socket.on('error', () => {});
    });
    if (outcome === 'done') return;
    if (attempt >= 10) throw new BmoError('store_unavailable', `lost the stream at pos ${last} and could not reconnect; run again with --from ${last}`);
    options.err.write(`bmo: stream closed (${why}); resuming from pos ${last}\n`);
    await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
  }
}
