import WebSocket from 'ws';
import type { Hub } from '../pipeline/hub.js';

/**
 * Tells a listener the stream of each event committed after `ready` resolves, until `stop`.
 */
export type ChangeFeed = (listener: (stream: string) => void) => { ready: Promise<void>; stop: () => void };

/** In `bmo serve`: the hub that every commit goes through. */
export function hubChanges(hub: Hub): ChangeFeed {
  return (listener) => {
    const stop = hub.subscribe((batch) => {
      for (const { envelope } of batch) listener(envelope.stream);
    });
    return { ready: Promise.resolve(), stop };
  };
}

/** How long a lost stream waits before it connects again: a server restarting is back within it. */
const RECONNECT_MS = 500;

/**
 * In `bmo mcp`: the server's WebSocket stream of team and workstream events from the head on,
 * connected again from the last position it saw when it drops.
 */
export function streamChanges(options: { url: string; token: string; head: () => Promise<number> }): ChangeFeed {
  return (listener) => {
    let stopped = false;
    let socket: WebSocket | undefined;
    let last: number | undefined;
    let isReady: () => void;
    const ready = new Promise<void>((resolve) => (isReady = resolve));
    const open = async () => {
      if (stopped) return;
      try {
        last ??= await options.head();
      } catch {
        setTimeout(open, RECONNECT_MS).unref();
        return;
      }
      // From here on nothing is missed: the stream replays from `last`.
      isReady();
      const url = `${options.url.replace(/^http/, 'ws')}/v1/stream?from=${last}&filter=${encodeURIComponent('teams/*,workstreams/*')}`;
      socket = new WebSocket(url, { headers: { authorization: `Bearer ${options.token}` } });
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { op?: string; pos?: number; stream?: string };
        if (frame.op || frame.stream === undefined) return;
        last = frame.pos;
        listener(frame.stream);
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (!stopped) setTimeout(open, RECONNECT_MS).unref();
      });
    };
    void open();
    return {
      ready,
      stop: () => {
        stopped = true;
        isReady();
        socket?.close(1000);
      },
    };
  };
}
