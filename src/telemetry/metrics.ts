import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StoredEvent, StoreObserver } from '../store/index.js';

/** What the metrics read when scraped: the live state that is cheaper to look at than to track. */
export interface MetricsSources {
  head: () => number;
  appliedPos: () => number;
  remoteDegraded: () => boolean;
}

/** What the WebSocket stream reports: each client's bytes in flight are read when scraped. */
export interface StreamObserver {
  opened(inFlight: () => number): () => void;
  closed(code: number): void;
}

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * The Prometheus series of one bmo, in a registry of its own (several bmo in one process, as in
 * tests, do not share counters). Counters count from this process's start.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly appends: Counter;
  private readonly events: Counter<'type'>;
  private readonly remoteFailures: Counter;
  private readonly leasesReclaimed: Counter;
  private readonly syncBatch: Histogram;
  private readonly syncSeconds: Histogram;
  private readonly ackSeconds: Histogram;
  private readonly http: Counter<'method' | 'route' | 'status'>;
  private readonly wsCloses: Counter<'code'>;
  private readonly replaySeconds: Gauge;
  private readonly clients = new Set<() => number>();
  private sources: MetricsSources = { head: () => 0, appliedPos: () => 0, remoteDegraded: () => false };

  constructor() {
    const self = this;
    const registers = [this.registry];
    this.appends = new Counter({ name: 'bmo_appends_total', help: 'Appends acknowledged (one command may append several events).', registers });
    this.events = new Counter({ name: 'bmo_events_appended_total', help: 'Events committed, by type.', labelNames: ['type'], registers });
    this.remoteFailures = new Counter({ name: 'bmo_remote_failures_total', help: 'Failed operations against the remote teams server (remote_failed events).', registers });
    this.leasesReclaimed = new Counter({ name: 'bmo_leases_reclaimed_total', help: 'Claims whose lease lapsed and whose task went back to the queue (task_reclaimed events).', registers });
    this.syncBatch = new Histogram({ name: 'bmo_events_per_fdatasync', help: 'Events made durable by one fdatasync (group commit).', buckets: BATCH_BUCKETS, registers });
    this.syncSeconds = new Histogram({ name: 'bmo_fdatasync_seconds', help: 'Time one fdatasync of the log took.', buckets: LATENCY_BUCKETS, registers });
    this.ackSeconds = new Histogram({ name: 'bmo_append_ack_seconds', help: 'Time from an append to its acknowledgement (written and synced).', buckets: LATENCY_BUCKETS, registers });
    this.http = new Counter({ name: 'bmo_http_requests_total', help: 'HTTP requests answered, by route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.wsCloses = new Counter({ name: 'bmo_ws_closes_total', help: 'WebSocket connections closed, by close code.', labelNames: ['code'], registers });
    this.replaySeconds = new Gauge({ name: 'bmo_replay_seconds', help: 'How long the startup replay of the log took.', registers });
    const clients = this.clients;
    new Gauge({ name: 'bmo_ws_clients', help: 'WebSocket clients connected to /v1/stream.', registers, collect() { this.set(clients.size); } });
    new Gauge({
      name: 'bmo_ws_bytes_in_flight',
      help: 'Bytes sent to WebSocket clients that the kernel has not taken yet, over all clients.',
      registers,
      collect() {
        let sum = 0;
        for (const inFlight of clients) sum += inFlight();
        this.set(sum);
      },
    });
    new Gauge({ name: 'bmo_log_head_pos', help: 'The last committed position of the log.', registers, collect() { this.set(self.sources.head()); } });
    new Gauge({ name: 'bmo_projection_lag', help: 'Committed positions the read models have not applied yet (head pos - applied pos).', registers, collect() { this.set(Math.max(0, self.sources.head() - self.sources.appliedPos())); } });
    new Gauge({ name: 'bmo_remote_degraded', help: '1 while the remote teams server is degraded (3 failures in a row), else 0.', registers, collect() { this.set(self.sources.remoteDegraded() ? 1 : 0); } });
  }

  /** Where the scrape-time gauges read from, once the store is open. */
  watch(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** The store's observer seam: syncs and acknowledged appends. */
  readonly store: StoreObserver = {
    synced: (events, seconds) => {
      this.syncBatch.observe(events);
      this.syncSeconds.observe(seconds);
    },
    acknowledged: (seconds) => {
      this.appends.inc();
      this.ackSeconds.observe(seconds);
    },
  };

  readonly stream: StreamObserver = {
    opened: (inFlight) => {
      this.clients.add(inFlight);
      return () => this.clients.delete(inFlight);
    },
    closed: (code) => this.wsCloses.inc({ code: String(code) }),
  };

  /** Counts committed events by type (remote_failed and task_reclaimed among them); a hub listener. */
  committed(batch: StoredEvent[]): void {
    for (const { envelope } of batch) {
      this.events.inc({ type: envelope.type });
      if (envelope.type === 'remote_failed') this.remoteFailures.inc();
      else if (envelope.type === 'task_reclaimed') this.leasesReclaimed.inc();
    }
  }

  request(method: string, route: string, status: number): void {
    this.http.inc({ method, route, status: String(status) });
  }

  replayed(seconds: number): void {
    this.replaySeconds.set(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
