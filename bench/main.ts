/**
 * `npm run bench`: ceilings and product figures in one run, each figure printed with its ratio to
 * its ceiling, closing with one line of JSON. Load and subscribers come from child processes.
 * Measurements that are compared are interleaved (ceiling, product, ceiling, product) and the best
 * of each kind is kept, the same rule for both sides, because the machine is shared and noisy.
 * bmo runs with its default telemetry (the production logger at info, to a file through its
 * normal destination, logDestination) unless a figure says otherwise.
 *
 * `BMO_BENCH_ONLY=http,replay npm run bench` runs only the named sections (see SECTIONS); the
 * closing JSON line then holds only what they measured.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import pino from 'pino';
import type { DomainEvent, StreamName } from '../events/index.js';
import { startBmo, type Bmo } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger, logDestination } from '../src/telemetry/logger.js';
import { teamEntity } from '../src/domain/teams.js';
import { encodeLine, JsonlEventStore } from '../src/store/index.js';
import { fdatasyncLoop, serialAppendLoop, startDurableNoopServer, startNoopServer, startRawWsServer } from './ceilings.js';
import { BenchChild, fmt, mainThreadCpuUs, percentile, postgresCpuUs, round, sortedCopy, type ChildMessage } from './common.js';
import type { FanoutConfig, FanoutResult } from './fanout.js';
import type { LoadConfig, LoadResult } from './load.js';
import { measureMcpVsHttp } from './mcp.js';
import { measureFirstLoad } from './page.js';
import { pgCeilingTable, type PgLoadConfig } from './pg-load.js';
import { READERS, writesUnderReaders } from './readers.js';
import { writeReplayData, type ReplayData } from './replay-data.js';

const TOKEN = 'bench-token-0123456789abcdef';
const HTTP_CONNECTIONS = 64;
const HTTP_WARMUP_MS = 1_000;
const HTTP_MEASURE_MS = 3_000;
const HTTP_ROUNDS = 3;
const WS_CLIENTS = 100;
const WS_ROUNDS = 3;
const WS_MESSAGES = 3_000; // below the store's 4,096-event recent ring: live readers stay in memory
const REPLAY_STREAMS = 10_000;
const REPLAY_PER_STREAM = 100;
const REPLAY_ROUNDS = 3;
const SYNC_BLOCKS = 10;
const SYNC_BLOCK_MS = 250;
const FANOUT_SUBSCRIBERS = 100;
const FANOUT_RATE = 1_000;
const FANOUT_WARMUP_MS = 2_000;
const FANOUT_MEASURE_MS = 10_000;
const PG_URL = process.env.BMO_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_ROUNDS = 3;

/** The sections, in the order they run; `BMO_BENCH_ONLY` names a subset. */
const SECTIONS = ['sync', 'http', 'ws', 'fanout', 'replay', 'snapshot', 'page', 'mcp', 'readers', 'pg'] as const;
type Section = (typeof SECTIONS)[number];

const started = performance.now();
const log = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
const silent = pino({ level: 'silent' });

/** The message body the HTTP clients post (a chat line). */
const BODY = 'rebased on main and the verify run is green; the flaky ingest test is quarantined, ready for review';
/** The body of the fanned-out messages: with its index it makes a line of about 300 bytes. */
const FANOUT_BODY = 'rebased, verify is green';

function messageEvent(body: string): DomainEvent {
  return { type: 'message_sent', data: { message_id: randomUUID(), from: 'm1', to: '*', body } } as DomainEvent;
}

/**
 * The exact line the store writes for `event` on `stream` (append without meta), so that the
 * ceilings move the same bytes as the product.
 */
function envelopeLine(stream: StreamName, event: DomainEvent): Buffer {
  return encodeLine({ pos: 123_456, stream, seq: 4_321, id: randomUUID(), type: event.type, at: new Date().toISOString(), data: event.data, meta: {} } as Parameters<typeof encodeLine>[0]).line;
}

interface BenchBmoOptions {
  /** false: a silent logger, no telemetry line at all (the "without telemetry" figure). */
  telemetry?: boolean;
  /** A PostgreSQL schema to keep the log in, instead of the data directory's jsonl. */
  pgSchema?: string;
}

/**
 * bmo as `bmo serve` starts it: its production logger (pino, level info: teams.fired and
 * teams.action lines) writing to a file in `root` through pino's normal asynchronous destination.
 */
async function startBenchBmo(root: string, options: BenchBmoOptions = {}): Promise<Bmo> {
  fs.mkdirSync(root, { recursive: true });
  const store = options.pgSchema ? { store: { backend: 'postgres' as const, url: PG_URL, schema: options.pgSchema } } : {};
  const { config } = loadConfig({
    cwd: root,
    env: { HOME: root },
    overrides: { server: { data_dir: join(root, 'data'), host: '127.0.0.1', port: 0, token: TOKEN }, options: { teams: { enabled: true } }, ...store },
  });
  const destination = options.telemetry === false ? undefined : logDestination(join(root, 'bmo.log'));
  const logger = destination ? createLogger({ level: 'info', destination }) : silent;
  const bmo = await startBmo({
    config,
    logger,
    onFatal: (error) => {
      console.error('bmo under bench hit a fatal store error:', error);
      process.exit(70);
    },
  });
  const close = bmo.close.bind(bmo);
  bmo.close = async () => {
    await close();
    if (destination) {
      destination.flushSync();
      destination.end();
    }
  };
  return bmo;
}

/** One team with a lead and four members, created through the HTTP API. */
async function createTeam(bmo: Bmo, teamId: string): Promise<void> {
  const call = async (url: string, body: unknown, status: number) => {
    const response = await bmo.server.inject({ method: 'POST', url, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    if (response.statusCode !== status) throw new Error(`POST ${url}: ${response.statusCode} ${response.body}`);
  };
  await call('/v1/teams', { id: teamId, name: 'bench team', goal: 'measure the ledger', lead: { member_id: 'lead', name: 'Lead' } }, 201);
  for (const m of ['m1', 'm2', 'm3', 'm4']) await call(`/v1/teams/${teamId}/members`, { member_id: m, name: `Worker ${m}` }, 201);
}

/** The main thread's share of a run's server CPU, as JSON fields (null where /proc cannot tell). */
const mainThread = (run: { mainBusyPct?: number; mainUsPerReq?: number }) => ({
  main_thread_busy_pct: run.mainBusyPct === undefined ? null : round(run.mainBusyPct),
  main_thread_us_per_req: run.mainUsPerReq === undefined ? null : round(run.mainUsPerReq, 1),
});

const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');

/** What a section gets: the scratch directory, the JSON it fills, the lines it adds to the summary. */
interface Ctx {
  root: string;
  out: { ceilings: Record<string, any>; figures: Record<string, any>; targets: Record<string, { value: number | null; target: string; ok: boolean }> };
  children: BenchChild[];
  closers: (() => Promise<void>)[];
  ceilingLines: string[];
  productLines: string[];
  /** The replay's data (written once, on first use) and the replay section's results. */
  replayData(): ReplayData;
  replay?: { pipelineMs: number[] };
  replayChild(label: string, args: string[]): Promise<ChildMessage & { perSec: number }>;
}

const loadNow = () => round(loadavg()[0], 2);

/** Which sections run: all, or those `BMO_BENCH_ONLY` names (a snapshot's ratio needs the replay's runs). */
function selectedSections(): Set<Section> {
  const only = process.env.BMO_BENCH_ONLY?.trim();
  if (!only) return new Set(SECTIONS);
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`BMO_BENCH_ONLY: no section ${unknown.join(', ')}; the sections are ${SECTIONS.join(', ')}`);
  const chosen = new Set(names as Section[]);
  if (chosen.has('snapshot')) chosen.add('replay');
  return chosen;
}

// ── (a) raw fdatasync and (2) serial durable append, interleaved ─────────────────────────────
async function sectionSync(ctx: Ctx): Promise<void> {
  const { out, root } = ctx;
  const serialStream: StreamName = 'teams/bench-serial';
  const serialEvent = { type: 'message_read', data: { message_id: randomUUID(), member_id: 'm1' } } as DomainEvent;
  const line = envelopeLine(serialStream, serialEvent);
  log(`(a)+(2) write+fdatasync of a ${line.length}-byte line vs store.append, ${SYNC_BLOCKS} interleaved blocks of ${SYNC_BLOCK_MS} ms each…`);
  const rawFd = fs.openSync(join(root, 'raw-fdatasync.jsonl'), 'a');
  const store = new JsonlEventStore({ dataDir: join(root, 'serial'), logger: silent, role: 'bmo bench serial' });
  await store.open();
  await fdatasyncLoop(rawFd, line, 200);
  await serialAppendLoop(store, serialStream, serialEvent, 200);
  const rawSamples: number[] = [];
  const appendSamples: number[] = [];
  let rawMs = 0;
  for (let b = 0; b < SYNC_BLOCKS; b++) {
    const t = performance.now();
    rawSamples.push(...(await fdatasyncLoop(rawFd, line, SYNC_BLOCK_MS)));
    rawMs += performance.now() - t;
    appendSamples.push(...(await serialAppendLoop(store, serialStream, serialEvent, SYNC_BLOCK_MS)));
  }
  fs.closeSync(rawFd);
  await store.close();
  const rawSorted = sortedCopy(rawSamples);
  const appendSorted = sortedCopy(appendSamples);
  const rawP50 = percentile(rawSorted, 50);
  const appendP50 = percentile(appendSorted, 50);
  out.ceilings.fdatasync = { line_bytes: line.length, p50_us: round(rawP50, 1), p99_us: round(percentile(rawSorted, 99), 1), ops_per_s: round(rawSamples.length / (rawMs / 1000)) };
  log(`  ceiling (a) raw fdatasync: p50 ${fmt(rawP50, 1)} µs, p99 ${fmt(percentile(rawSorted, 99), 1)} µs, ${fmt(out.ceilings.fdatasync.ops_per_s)} ops/s (${rawSamples.length} samples)`);
  const serialRatio = appendP50 / rawP50;
  out.figures.serial_append = { p50_us: round(appendP50, 1), p99_us: round(percentile(appendSorted, 99), 1), samples: appendSamples.length, ratio: round(serialRatio, 3), loadavg_1m: loadNow() };
  out.targets.serial_append_p50_ratio = { value: round(serialRatio, 3), target: '<= 1.5', ok: serialRatio <= 1.5 };
  log(`  product (2) serial append: p50 ${fmt(appendP50, 1)} µs, p99 ${fmt(percentile(appendSorted, 99), 1)} µs (${appendSamples.length} samples)`);
  const c = out.ceilings;
  const f = out.figures;
  ctx.ceilingLines.push(`  (a) raw write+fdatasync: p50 ${fmt(c.fdatasync.p50_us, 1)} µs, ${fmt(c.fdatasync.ops_per_s)} ops/s`);
  ctx.productLines.push(`  serial durable append: p50 ${fmt(f.serial_append.p50_us, 1)} µs  (ceiling raw fdatasync p50 ${fmt(c.fdatasync.p50_us, 1)} µs; ratio ${f.serial_append.ratio.toFixed(2)}, target ≤ 1.5: ${ok(out.targets.serial_append_p50_ratio.ok)})`);
}

const POST_PAIRS = [['m1', 'm2'], ['m2', 'lead'], ['m3', '*'], ['m4', 'm1'], ['lead', 'm3'], ['m2', 'm4']];
const POST_BODIES = POST_PAIRS.map(([from, to], i) => JSON.stringify({ from, to, body: `${BODY} (${i})` }));
const POST_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

type LoadRun = LoadResult & { serverCpuPct: number; cpuUsPerReq: number; pgCpuPct?: number; pgUsPerReq?: number; mainBusyPct?: number; mainUsPerReq?: number; perSync?: number; syncs: number; loadavg: number };

/**
 * One measured run of a load child (HTTP load.js or the raw PostgreSQL pg-load.js): it sends
 * `config`, counts this process's CPU (and its main thread's) over the child's window, and the
 * group commits of `bmo`'s store if given, and with `postgres` the PostgreSQL server's CPU.
 */
async function measuredRun(label: string, load: BenchChild, config: ChildMessage, bmo?: Bmo, postgres = false): Promise<LoadRun> {
  let commits = 0;
  let committedEvents = 0;
  const stop = bmo?.pipeline.store.onCommit((batch) => {
    commits++;
    committedEvents += batch.length;
  });
  load.send(config);
  await load.next('window');
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuUs();
  const pg0 = postgres ? postgresCpuUs() : undefined;
  const c0 = { commits, committedEvents };
  const result = await load.next<LoadResult & ChildMessage>('result');
  stop?.();
  if ((result as unknown as { error?: string }).error) throw new Error(`load generator: ${(result as unknown as { error: string }).error}`);
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpuUs();
  const pg1 = pg0 === undefined ? undefined : postgresCpuUs();
  const pgUs = pg0 !== undefined && pg1 !== undefined ? pg1 - pg0 : undefined;
  const pgCpuPct = pgUs === undefined ? undefined : (100 * pgUs) / 1e6 / result.seconds;
  const pgUsPerReq = pgUs === undefined ? undefined : pgUs / Math.max(1, result.requests);
  const mainUs = main0 !== undefined && main1 !== undefined ? main1 - main0 : undefined;
  const mainBusyPct = mainUs !== undefined ? (100 * mainUs) / 1e6 / result.seconds : undefined;
  const mainUsPerReq = mainUs !== undefined ? mainUs / Math.max(1, result.requests) : undefined;
  const serverCpuPct = (100 * (cpu.user + cpu.system)) / 1e6 / result.seconds;
  const cpuUsPerReq = (cpu.user + cpu.system) / Math.max(1, result.requests);
  const syncs = commits - c0.commits;
  const perSync = syncs > 0 ? (committedEvents - c0.committedEvents) / syncs : undefined;
  const server = bmo !== undefined || (config.url as string | undefined)?.startsWith('http');
  log(
    `  ${label}: ${fmt(result.reqPerSec)} req/s, p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms, errors ${result.errors}` +
      `${result.firstError ? ` (${result.firstError})` : ''}` +
      (server ? `; server cpu ${fmt(serverCpuPct)}% (${fmt(cpuUsPerReq)} µs a request)` : '') +
      (server && mainBusyPct !== undefined ? `, its main thread busy ${fmt(mainBusyPct)}% (${fmt(mainUsPerReq!, 1)} µs a request)` : '') +
      `, load generator ${fmt(result.clientCpuPct)}% (${fmt((result.clientCpuPct * 1e4) / Math.max(1, result.reqPerSec))} µs a request)` +
      (pgCpuPct !== undefined ? `, PostgreSQL ${fmt(pgCpuPct)}% (${fmt(pgUsPerReq!)} µs a request)` : '') +
      (perSync !== undefined && syncs > 0 ? `; ${fmt(syncs)} group commits (one every ${fmt((1000 * result.seconds) / syncs, 2)} ms), ${fmt(perSync, 1)} events each` : '') +
      `; load average ${loadNow()}`,
  );
  if (result.errors > 0) throw new Error(`${label}: ${result.errors} requests failed (${result.firstError}); the figure would not be meaningful`);
  return { ...result, serverCpuPct, cpuUsPerReq, pgCpuPct, pgUsPerReq, mainBusyPct, mainUsPerReq, perSync, syncs, loadavg: loadNow() };
}

const httpLoad = (url: string, path: string, expectStatus: number, warmupMs = HTTP_WARMUP_MS, durationMs = HTTP_MEASURE_MS): LoadConfig & ChildMessage => ({
  type: 'run',
  url,
  path,
  method: 'POST',
  headers: POST_HEADERS,
  bodies: POST_BODIES,
  connections: HTTP_CONNECTIONS,
  warmupMs,
  durationMs,
  expectStatus,
});

/** A warm-up run (not counted), its 'window' taken too: left in the inbox, it would open a later run's CPU count at that run's start. */
async function warmUp(load: BenchChild, config: ChildMessage): Promise<void> {
  load.send(config);
  await load.next('window');
  const result = await load.next('result');
  if (result.error) throw new Error(`load generator: ${result.error}`);
}

const best = <R extends { reqPerSec: number }>(runs: R[]) => runs.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a));

/** The JSON of a POST figure: its best run and every run's rate. */
function postFigure(runs: LoadRun[]) {
  const b = best(runs);
  return {
    req_per_s: round(b.reqPerSec),
    runs: runs.map((r) => round(r.reqPerSec)),
    p50_ms: round(b.p50Ms, 2),
    p99_ms: round(b.p99Ms, 2),
    server_cpu_pct: round(b.serverCpuPct),
    server_cpu_us_per_req: round(b.cpuUsPerReq),
    ...mainThread(b),
    loadgen_cpu_pct: round(b.clientCpuPct),
    ...(b.pgCpuPct !== undefined ? { postgres_cpu_pct: round(b.pgCpuPct), postgres_cpu_us_per_req: round(b.pgUsPerReq!) } : {}),
    events_per_fdatasync: b.perSync !== undefined ? round(b.perSync, 1) : null,
    loadavg_1m: b.loadavg,
  };
}

// ── (c) fastify no-op POST, (e) the same made durable, (1) durable messages POST with and without telemetry ─
async function sectionHttp(ctx: Ctx): Promise<void> {
  const { out, root, closers } = ctx;
  log(`(c)+(e)+(1) HTTP: ${HTTP_CONNECTIONS} keep-alive connections from a second process, ${HTTP_WARMUP_MS} ms warm-up + ${HTTP_MEASURE_MS} ms per run, ${HTTP_ROUNDS} rounds of no-op, durable no-op, bmo with its telemetry and bmo without, best of each kept…`);
  const noop = await startNoopServer();
  closers.push(noop.close);
  const durableNoop = await startDurableNoopServer(join(root, 'durable-noop.jsonl'), envelopeLine('teams/bench-team', messageEvent(`${BODY} (0)`)));
  closers.push(durableNoop.close);
  const teamId = 'bench-team';
  const bmo = await startBenchBmo(join(root, 'http'));
  closers.push(() => bmo.close());
  await createTeam(bmo, teamId);
  const quietBmo = await startBenchBmo(join(root, 'http-quiet'), { telemetry: false });
  closers.push(() => quietBmo.close());
  await createTeam(quietBmo, teamId);
  const load = new BenchChild('load.js');
  ctx.children.push(load);
  await load.next('ready');
  const messages = `/v1/teams/${teamId}/messages`;
  log('  warm-up (not counted): 1.5 s against each server…');
  for (const [url, path, status] of [[noop.url, '/noop', 200], [durableNoop.url, '/durable', 200], [bmo.url!, messages, 201], [quietBmo.url!, messages, 201]] as const) {
    await warmUp(load, httpLoad(url, path, status, 500, 1_000));
  }
  const noopRuns: LoadRun[] = [];
  const durableRuns: LoadRun[] = [];
  const bmoRuns: LoadRun[] = [];
  const quietRuns: LoadRun[] = [];
  for (let r = 0; r < HTTP_ROUNDS; r++) {
    noopRuns.push(await measuredRun(`run ${r + 1} ceiling (c) no-op POST`, load, httpLoad(noop.url, '/noop', 200)));
    durableRuns.push(await measuredRun(`run ${r + 1} (e) durable no-op POST`, load, httpLoad(durableNoop.url, '/durable', 200)));
    bmoRuns.push(await measuredRun(`run ${r + 1} product (1) POST ${messages}, telemetry on`, load, httpLoad(bmo.url!, messages, 201), bmo));
    quietRuns.push(await measuredRun(`run ${r + 1} (1q) the same, bmo without telemetry`, load, httpLoad(quietBmo.url!, messages, 201), quietBmo));
  }
  await load.stop();
  for (let i = 0; i < 4; i++) await closers.pop()!();
  const bestNoop = best(noopRuns);
  const bestDurable = best(durableRuns);
  const bestBmo = best(bmoRuns);
  const bestQuiet = best(quietRuns);
  out.ceilings.noop_post = { req_per_s: round(bestNoop.reqPerSec), runs: noopRuns.map((r) => round(r.reqPerSec)), p50_ms: round(bestNoop.p50Ms, 2), server_cpu_pct: round(bestNoop.serverCpuPct), server_cpu_us_per_req: round(bestNoop.cpuUsPerReq), ...mainThread(bestNoop), loadgen_cpu_pct: round(bestNoop.clientCpuPct) };
  out.ceilings.durable_noop_post = {
    req_per_s: round(bestDurable.reqPerSec),
    runs: durableRuns.map((r) => round(r.reqPerSec)),
    p50_ms: round(bestDurable.p50Ms, 2),
    server_cpu_us_per_req: round(bestDurable.cpuUsPerReq),
    ...mainThread(bestDurable),
    ratio_to_noop: round(bestDurable.reqPerSec / bestNoop.reqPerSec, 3),
  };
  const durableRatio = bestBmo.reqPerSec / bestDurable.reqPerSec;
  // The main thread's CPU a request, each side's lowest of its runs (the least disturbed by the machine's other work).
  const minMain = (runs: LoadRun[]) => Math.min(...runs.map((r) => r.mainUsPerReq ?? NaN));
  const noopMain = minMain(noopRuns);
  const cpuRatio = minMain(bmoRuns) / noopMain;
  const quietCpuRatio = minMain(quietRuns) / noopMain;
  out.figures.messages_post = {
    ...postFigure(bmoRuns),
    telemetry: 'info, pino file destination (async)',
    // The target: bmo against the no-op made durable, the disk's wait in both.
    ratio_to_durable_noop: round(durableRatio, 3),
    // Not a target any more: against the no-op that never waits for a disk.
    ratio: round(bestBmo.reqPerSec / bestNoop.reqPerSec, 3),
    main_thread_us_per_req_min: round(minMain(bmoRuns), 1),
    main_thread_cpu_ratio: round(cpuRatio, 3),
  };
  out.figures.messages_post_no_telemetry = {
    ...postFigure(quietRuns),
    ratio_to_durable_noop: round(bestQuiet.reqPerSec / bestDurable.reqPerSec, 3),
    main_thread_us_per_req_min: round(minMain(quietRuns), 1),
    main_thread_cpu_ratio: round(quietCpuRatio, 3),
  };
  out.ceilings.noop_post.main_thread_us_per_req_min = round(noopMain, 1);
  out.targets.messages_post_durable_ratio = { value: round(durableRatio, 3), target: '>= 0.85', ok: durableRatio >= 0.85 };
  out.targets.main_thread_cpu_ratio = { value: round(cpuRatio, 3), target: '<= 1.5', ok: cpuRatio <= 1.5 };
  const c = out.ceilings;
  const f = out.figures;
  ctx.ceilingLines.push(`  (c) fastify no-op POST: ${fmt(c.noop_post.req_per_s)} req/s`);
  ctx.ceilingLines.push(`  (e) the same no-op made durable (group-committed write+fdatasync): ${fmt(c.durable_noop_post.req_per_s)} req/s, ${c.durable_noop_post.ratio_to_noop.toFixed(2)} of (c)`);
  ctx.productLines.push(
    `  durable messages POST, telemetry on: ${fmt(f.messages_post.req_per_s)} req/s  (ceiling (e) ${fmt(c.durable_noop_post.req_per_s)} durable no-op POST/s; ratio ${durableRatio.toFixed(2)}, target ≥ 0.85: ${ok(out.targets.messages_post_durable_ratio.ok)})` +
      `; ${f.messages_post.ratio.toFixed(2)} of (c)` +
      (f.messages_post.events_per_fdatasync !== null ? `; ${fmt(f.messages_post.events_per_fdatasync, 1)} events per fdatasync` : '') +
      `; load average ${f.messages_post.loadavg_1m}`,
  );
  ctx.productLines.push(
    `  main-thread CPU a request: bmo ${fmt(minMain(bmoRuns), 1)} µs with telemetry, ${fmt(minMain(quietRuns), 1)} µs without, vs ${fmt(noopMain, 1)} µs no-op` +
      ` (ratio ${cpuRatio.toFixed(2)} with, ${quietCpuRatio.toFixed(2)} without; target ≤ 1.5 with: ${ok(out.targets.main_thread_cpu_ratio.ok)})`,
  );
  ctx.productLines.push(`  durable messages POST without telemetry: ${fmt(f.messages_post_no_telemetry.req_per_s)} req/s, ${f.messages_post_no_telemetry.ratio_to_durable_noop.toFixed(2)} of (e)`);
}

// ── (d) raw ws broadcast and (4) bmo fan-out, 100 subscribers in a child ──────────────────────
async function sectionWs(ctx: Ctx): Promise<void> {
  const { out, root, closers, children } = ctx;
  const teamId = 'bench-team';
  log(`(d)+(4) WebSocket: ${WS_CLIENTS} subscribers in a second process, ${fmt(WS_MESSAGES)} messages to each, ${WS_ROUNDS} rounds of raw then bmo, best of each kept…`);
  const raw = await startRawWsServer();
  closers.push(raw.close);
  const wsBmo = await startBenchBmo(join(root, 'ws'));
  closers.push(() => wsBmo.close());
  await createTeam(wsBmo, teamId);
  const rawClients = new BenchChild('ws-clients.js');
  const bmoClients = new BenchChild('ws-clients.js');
  children.push(rawClients, bmoClients);
  await Promise.all([rawClients.next('ready'), bmoClients.next('ready')]);
  rawClients.send({ type: 'connect', url: raw.url, clients: WS_CLIENTS, waitFor: 'open' });
  const head = wsBmo.pipeline.store.head();
  const streamUrl = `${wsBmo.url!.replace(/^http/, 'ws')}/v1/stream?from=${head}&filter=teams/*`;
  bmoClients.send({ type: 'connect', url: streamUrl, clients: WS_CLIENTS, headers: { authorization: `Bearer ${TOKEN}` }, waitFor: 'caught_up' });
  for (const [name, child] of [['raw', rawClients], ['bmo', bmoClients]] as const) {
    const connected = await child.next('connected');
    if (connected.error) throw new Error(`${name} subscribers: ${connected.error}`);
  }
  const payload = envelopeLine(`teams/${teamId}`, messageEvent(`${FANOUT_BODY} ${WS_MESSAGES - 1}`)).subarray(0, -1);
  const rawRounds: number[] = [];
  const corkedRounds: number[] = [];
  const bmoRounds: number[] = [];
  const round1 = async (label: string, child: BenchChild, fire: () => Promise<unknown>) => {
    child.send({ type: 'arm', expect: WS_MESSAGES, timeoutMs: 30_000 });
    await child.next('armed');
    const t0 = performance.now();
    await fire();
    const done = await child.next('done', 40_000);
    const seconds = (performance.now() - t0) / 1000;
    const total = WS_CLIENTS * WS_MESSAGES;
    if (done.timedOut) throw new Error(`${label}: only ${done.delivered} of ${total} deliveries within 30 s`);
    const perSec = total / seconds;
    const fromFirst = total / ((done.msFromFirst as number) / 1000);
    log(`  ${label}: ${fmt(perSec)} deliveries/s (${fmt(total)} in ${fmt(seconds * 1000)} ms; first delivery after ${fmt(seconds * 1000 - (done.msFromFirst as number))} ms, ${fmt(fromFirst)}/s from then on)`);
    return perSec;
  };
  for (let r = 0; r < WS_ROUNDS; r++) {
    rawRounds.push(await round1(`run ${r + 1} ceiling (d) raw ws broadcast`, rawClients, () => raw.broadcast(payload, WS_MESSAGES)));
    corkedRounds.push(await round1(`run ${r + 1} (d') raw ws broadcast, corked like bmo (for information)`, rawClients, () => raw.broadcast(payload, WS_MESSAGES, true)));
    bmoRounds.push(
      await round1(`run ${r + 1} product (4) bmo /v1/stream fan-out`, bmoClients, () =>
        Promise.all(Array.from({ length: WS_MESSAGES }, (_, i) => wsBmo.pipeline.execute(teamEntity, teamId, { type: 'send_message', message_id: randomUUID(), from: 'm1', to: '*', body: `${FANOUT_BODY} ${i}` }))),
      ),
    );
  }
  const bestRawWs = Math.max(...rawRounds);
  const bestBmoWs = Math.max(...bmoRounds);
  out.ceilings.ws_broadcast = { deliveries_per_s: round(bestRawWs), runs: rawRounds.map((x) => round(x)), clients: WS_CLIENTS, messages: WS_MESSAGES, message_bytes: payload.length };
  const wsRatio = bestBmoWs / bestRawWs;
  const bestCorked = Math.max(...corkedRounds);
  out.ceilings.ws_broadcast_corked = { deliveries_per_s: round(bestCorked), runs: corkedRounds.map((x) => round(x)) };
  // bmo's figure includes the 3,000 durable appends; against a corked raw broadcast it is measured too, not targeted.
  out.figures.ws_fanout = { deliveries_per_s: round(bestBmoWs), runs: bmoRounds.map((x) => round(x)), ratio: round(wsRatio, 3), ratio_to_corked_raw: round(bestBmoWs / bestCorked, 3), loadavg_1m: loadNow() };
  out.targets.ws_fanout_ratio = { value: round(wsRatio, 3), target: '>= 0.70', ok: wsRatio >= 0.7 };
  await Promise.all([rawClients.stop(), bmoClients.stop()]);
  await closers.pop()!();
  await closers.pop()!();
  const c = out.ceilings;
  const f = out.figures;
  ctx.ceilingLines.push(`  (d) raw ws broadcast to ${WS_CLIENTS}: ${fmt(c.ws_broadcast.deliveries_per_s)} deliveries/s (corked: ${fmt(c.ws_broadcast_corked.deliveries_per_s)})`);
  ctx.productLines.push(`  WebSocket fan-out to ${WS_CLIENTS}: ${fmt(f.ws_fanout.deliveries_per_s)} deliveries/s  (ceiling ${fmt(c.ws_broadcast.deliveries_per_s)} raw ws deliveries/s; ratio ${f.ws_fanout.ratio.toFixed(2)}, target ≥ 0.70: ${ok(out.targets.ws_fanout_ratio.ok)})`);
  ctx.productLines.push(`    and against a raw broadcast that corks its writes as bmo does (${fmt(c.ws_broadcast_corked.deliveries_per_s)}/s): ratio ${f.ws_fanout.ratio_to_corked_raw.toFixed(2)}, with bmo's durable appends inside its time`);
}

// ── (8) append → subscriber latency: 100 subscribers while writers post 1,000 events/s ───────
async function sectionFanout(ctx: Ctx): Promise<void> {
  const { out, root, closers, children } = ctx;
  log(`(8) append → subscriber latency: ${FANOUT_SUBSCRIBERS} WebSocket subscribers and writers posting ${fmt(FANOUT_RATE)} messages/s over HTTP, in one second process; ${fmt(FANOUT_WARMUP_MS)} ms warm-up + ${fmt(FANOUT_MEASURE_MS)} ms measured…`);
  const bmo = await startBenchBmo(join(root, 'fanout'));
  closers.push(() => bmo.close());
  const teamId = 'bench-fanout';
  await createTeam(bmo, teamId);
  const child = new BenchChild('fanout.js');
  children.push(child);
  await child.next('ready');
  const config: FanoutConfig = { url: bmo.url!, token: TOKEN, teamId, subscribers: FANOUT_SUBSCRIBERS, rate: FANOUT_RATE, warmupMs: FANOUT_WARMUP_MS, measureMs: FANOUT_MEASURE_MS, drainMs: 15_000 };
  child.send({ type: 'run', ...config });
  const result = (await child.next('result', 60_000)) as unknown as FanoutResult & { error?: string };
  await child.stop();
  await closers.pop()!();
  if (result.error) throw new Error(`fan-out latency: ${result.error}`);
  log(
    `  ${fmt(result.sent)} messages sent (${fmt(result.measured)} measured, ${fmt(result.sendRate)}/s), ${result.errors} errors${result.firstError ? ` (${result.firstError})` : ''}; ` +
      `to each of ${FANOUT_SUBSCRIBERS}: p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms, max ${fmt(result.maxMs, 1)} ms; ${result.missing} deliveries missing, ${result.duplicates} twice; load average ${loadNow()}`,
  );
  const complete = result.errors === 0 && result.missing === 0 && result.duplicates === 0;
  out.figures.fanout_latency = {
    subscribers: FANOUT_SUBSCRIBERS,
    rate_per_s: FANOUT_RATE,
    measured_s: FANOUT_MEASURE_MS / 1000,
    sent: result.sent,
    send_rate_per_s: round(result.sendRate),
    p50_ms: round(result.p50Ms, 2),
    p99_ms: round(result.p99Ms, 2),
    max_ms: round(result.maxMs, 1),
    errors: result.errors,
    missing: result.missing,
    duplicates: result.duplicates,
    loadavg_1m: loadNow(),
  };
  out.targets.fanout_p99_ms = { value: round(result.p99Ms, 2), target: '<= 20, every event to every subscriber', ok: complete && result.p99Ms <= 20 };
  ctx.productLines.push(
    `  append → subscriber latency, ${FANOUT_SUBSCRIBERS} subscribers at ${fmt(FANOUT_RATE)} events/s: p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms (target ≤ 20 ms: ${ok(out.targets.fanout_p99_ms.ok)})` +
      `; ${complete ? 'every event reached every subscriber once' : `${result.missing} deliveries missing, ${result.duplicates} twice, ${result.errors} failed posts`}`,
  );
}

/**
 * Reads every file under `path` (or the file) once, so that a replay run finds them in the page
 * cache: the machine may evict them between runs, and 10 k cold files cost the store's replay
 * reads from disk that one flat file's sequential read does not.
 */
function readThrough(path: string): void {
  const scratch = Buffer.allocUnsafe(1 << 20);
  const visit = (p: string) => {
    if (fs.statSync(p).isDirectory()) {
      for (const entry of fs.readdirSync(p)) visit(join(p, entry));
      return;
    }
    const fd = fs.openSync(p, 'r');
    try {
      while (fs.readSync(fd, scratch, 0, scratch.length, null) > 0);
    } finally {
      fs.closeSync(fd);
    }
  };
  visit(path);
}

/** The replay's 1 M events in 10 k logs, written on first use (not measured). */
function replayDataOnce(root: string): () => ReplayData {
  let data: ReplayData | undefined;
  return () => {
    if (data) return data;
    log(`  writing ${fmt(REPLAY_STREAMS * REPLAY_PER_STREAM)} events in ${fmt(REPLAY_STREAMS)} team logs (not measured)…`);
    data = writeReplayData(join(root, 'replay'), REPLAY_STREAMS, REPLAY_PER_STREAM);
    try {
      execFileSync('sync'); // the generated files go to disk now, not under the replay
    } catch {
      /* no sync(1): the page cache flushes on its own */
    }
    log(`  wrote ${fmt(data.events)} events, ${fmt(data.bytes / 1024 / 1024, 1)} MB (avg ${fmt(data.bytes / data.events)} bytes a line), twice: the store layout and one flat file`);
    return data;
  };
}

function replayChildOf(children: BenchChild[]) {
  return async (label: string, args: string[]) => {
    readThrough(args[1]); // the files come from the page cache in every run, as they did when just written
    const child = new BenchChild('replay.js', args, ['--expose-gc']);
    children.push(child);
    const result = await child.next('result', 120_000);
    await child.stop();
    if (result.error) throw new Error(`${label}: ${result.error}`);
    const perSec = (result.events as number) / ((result.ms as number) / 1000);
    log(`  ${label}: ${fmt(result.events as number)} events in ${fmt(result.ms as number)} ms = ${fmt(perSec)} events/s; rss ${fmt(result.rssMb as number)} MB (heap ${fmt(result.heapUsedMb as number)} MB), after gc ${fmt(result.rssAfterGcMb as number)} MB; load average ${loadNow()}`);
    return { ...result, perSec };
  };
}

// ── (b) raw parse and (3) replay of 1,000,000 events in 10,000 logs, each in its own process ─
async function sectionReplay(ctx: Ctx): Promise<void> {
  const { out } = ctx;
  log(`(b)+(3) replay of ${fmt(REPLAY_STREAMS * REPLAY_PER_STREAM)} events in ${fmt(REPLAY_STREAMS)} team logs…`);
  const data = ctx.replayData();
  log(`  ${REPLAY_ROUNDS} rounds of raw then bmo, best of each kept; each run reads its files once first (not timed), so that both sides parse from the page cache rather than the disk`);
  const rawReplays: ChildMessage[] = [];
  const pipelineReplays: ChildMessage[] = [];
  for (let r = 0; r < REPLAY_ROUNDS; r++) {
    rawReplays.push(await ctx.replayChild(`run ${r + 1} ceiling (b) createReadStream+split+JSON.parse`, ['raw', data.flatFile]));
    pipelineReplays.push(await ctx.replayChild(`run ${r + 1} product (3) Pipeline.start()`, ['pipeline', data.dataDir]));
  }
  for (const r of pipelineReplays) if (r.events !== data.events) throw new Error(`replay folded ${r.events} events, expected ${data.events}`);
  ctx.replay = { pipelineMs: pipelineReplays.map((r) => r.ms as number) };
  const bestRawParse = Math.max(...rawReplays.map((r) => r.perSec as number));
  const bestReplay = Math.max(...pipelineReplays.map((r) => r.perSec as number));
  const replayRss = Math.max(...pipelineReplays.map((r) => r.rssMb as number));
  const replayRssGc = Math.max(...pipelineReplays.map((r) => r.rssAfterGcMb as number));
  out.ceilings.raw_parse = { events_per_s: round(bestRawParse), runs: rawReplays.map((r) => round(r.perSec as number)), bytes: data.bytes, events: data.events };
  const replayRatio = bestReplay / bestRawParse;
  out.figures.replay = {
    events_per_s: round(bestReplay),
    runs: pipelineReplays.map((r) => round(r.perSec as number)),
    events: data.events,
    streams: REPLAY_STREAMS,
    bytes: data.bytes,
    ratio: round(replayRatio, 3),
    rss_mb: round(replayRss),
    rss_after_gc_mb: round(replayRssGc),
    loadavg_1m: loadNow(),
  };
  out.targets.replay_ratio = { value: round(replayRatio, 3), target: '>= 0.80', ok: replayRatio >= 0.8 };
  out.targets.replay_rss_mb = { value: round(replayRss), target: '<= 300', ok: replayRss <= 300 };
  const c = out.ceilings;
  const f = out.figures;
  ctx.ceilingLines.push(`  (b) raw createReadStream+split+JSON.parse: ${fmt(c.raw_parse.events_per_s)} events/s`);
  ctx.productLines.push(`  replay 1,000,000 events / 10,000 logs: ${fmt(f.replay.events_per_s)} events/s  (ceiling ${fmt(c.raw_parse.events_per_s)} parsed events/s; ratio ${f.replay.ratio.toFixed(2)}, target ≥ 0.80: ${ok(out.targets.replay_ratio.ok)})`);
  ctx.productLines.push(`  replay RSS: ${fmt(f.replay.rss_mb)} MB after start(), ${fmt(f.replay.rss_after_gc_mb)} MB after gc  (target ≤ 300 MB: ${ok(out.targets.replay_rss_mb.ok)})`);
}

// ── (3s) a restart from a snapshot of the replayed store, against the replay section's full replays ─
async function sectionSnapshot(ctx: Ctx): Promise<void> {
  const { out } = ctx;
  const data = ctx.replayData();
  const pipelineMs = ctx.replay!.pipelineMs;
  const snapshotStarts = await snapshotRestart(data.dataDir, data.events, ctx.replayChild);
  const snapshotRatio = Math.min(...snapshotStarts.starts.map((r) => r.ms as number)) / Math.min(...pipelineMs);
  out.figures.snapshot_restart = { ms: snapshotStarts.starts.map((r) => round(r.ms as number)), write_ms: round(snapshotStarts.writeMs), bytes: snapshotStarts.bytes, ratio: round(snapshotRatio, 3), loadavg_1m: loadNow() };
  out.targets.snapshot_restart_ratio = { value: round(snapshotRatio, 3), target: '<= 0.10', ok: snapshotRatio <= 0.1 };
  const f = out.figures;
  ctx.productLines.push(`  restart from a snapshot at ${fmt(data.events)} events: ${f.snapshot_restart.ms.map(fmt).join(', ')} ms vs the full replay's best (ratio ${f.snapshot_restart.ratio.toFixed(3)}, target ≤ 0.10: ${ok(out.targets.snapshot_restart_ratio.ok)}); the snapshot: ${fmt(f.snapshot_restart.bytes / 1024 / 1024, 1)} MB, written in ${fmt(f.snapshot_restart.write_ms)} ms`);
}

// ── (5) the page's first load, over the 10,000 teams of the replay's data ────────────────────
async function sectionPage(ctx: Ctx): Promise<void> {
  const { out, root, closers } = ctx;
  ctx.replayData();
  log(`(5) the page's first load in headless Chromium over ${fmt(REPLAY_STREAMS)} teams (one page of the teams list)…`);
  const pageBmo = await startBenchBmo(join(root, 'replay'));
  closers.push(() => pageBmo.close());
  const firstLoad = await measureFirstLoad(pageBmo.url!, TOKEN);
  await closers.pop()!();
  log(`  ${fmt(firstLoad.bytes / 1024, 1)} KB received: ${fmt(firstLoad.http_bytes / 1024, 1)} KB over ${firstLoad.requests} HTTP responses, ${fmt(firstLoad.ws_bytes / 1024, 1)} KB in ${firstLoad.ws_frames} WebSocket frames; ${firstLoad.teams_rows} team rows shown, live after ${fmt(firstLoad.ms)} ms`);
  out.figures.page_first_load = { kb: round(firstLoad.bytes / 1024, 1), http_kb: round(firstLoad.http_bytes / 1024, 1), ws_kb: round(firstLoad.ws_bytes / 1024, 1), requests: firstLoad.requests, ws_frames: firstLoad.ws_frames, teams: REPLAY_STREAMS, rows_shown: firstLoad.teams_rows, ms: round(firstLoad.ms) };
  out.targets.page_first_load_kb = { value: round(firstLoad.bytes / 1024, 1), target: '<= 200', ok: firstLoad.bytes <= 200 * 1024 };
  const f = out.figures;
  ctx.productLines.push(`  the page's first load over ${fmt(REPLAY_STREAMS)} teams: ${fmt(f.page_first_load.kb, 1)} KB over the wire (HTTP ${fmt(f.page_first_load.http_kb, 1)} KB, WebSocket ${fmt(f.page_first_load.ws_kb, 1)} KB)  (target ≤ 200 KB: ${ok(out.targets.page_first_load_kb.ok)})`);
}

// ── (6) message_send through one stdio MCP client vs over HTTP from one client ──────────────
async function sectionMcp(ctx: Ctx): Promise<void> {
  const { out, root, closers } = ctx;
  log('(6) message_send: one stdio MCP client (bmo mcp) vs one HTTP client, one call in flight each…');
  const mcpBmo = await startBenchBmo(join(root, 'mcp'));
  closers.push(() => mcpBmo.close());
  await createTeam(mcpBmo, 'bench-mcp');
  const mcp = await measureMcpVsHttp(mcpBmo.url!, TOKEN, 'bench-mcp');
  await closers.pop()!();
  out.figures.mcp_message_send = { ...mcp, loadavg_1m: loadNow() };
  out.targets.mcp_http_ratio = { value: mcp.ratio, target: '>= 0.5', ok: mcp.ratio >= 0.5 };
  const f = out.figures;
  ctx.productLines.push(`  message_send through one stdio MCP client: ${fmt(f.mcp_message_send.mcp_per_s)}/s vs ${fmt(f.mcp_message_send.http_per_s)}/s over HTTP from one client (ratio ${f.mcp_message_send.ratio.toFixed(2)}, target ≥ 0.5: ${ok(out.targets.mcp_http_ratio.ok)})`);
}

// ── (7) a one-line write under eight readers of a 20 MB log ───────────────────────────────────
async function sectionReaders(ctx: Ctx): Promise<void> {
  const { out, root, closers } = ctx;
  log(`(7) a one-line durable write alone, then while ${READERS} clients read a 20 MB team log over and over (pages by cursor and NDJSON)…`);
  const readersBmo = await startBenchBmo(join(root, 'readers'));
  closers.push(() => readersBmo.close());
  const readers = await writesUnderReaders(readersBmo, TOKEN, (id) => createTeam(readersBmo, id));
  await closers.pop()!();
  log(`  alone: p50 ${fmt(readers.alone_p50_us)} µs, p99 ${fmt(readers.alone_p99_us)} µs; with readers: p50 ${fmt(readers.with_readers_p50_us)} µs, p99 ${fmt(readers.with_readers_p99_us)} µs (${readers.full_reads} whole-log reads meanwhile)`);
  out.figures.write_under_readers = { ...readers, alone_p99_us: round(readers.alone_p99_us), with_readers_p99_us: round(readers.with_readers_p99_us), alone_p50_us: round(readers.alone_p50_us), with_readers_p50_us: round(readers.with_readers_p50_us), ratio: round(readers.ratio, 2), loadavg_1m: loadNow() };
  out.targets.write_under_readers_p99_ratio = { value: round(readers.ratio, 2), target: '<= 5', ok: readers.ratio <= 5 };
  const f = out.figures;
  ctx.productLines.push(`  one-line write p99 under ${READERS} readers of a ${f.write_under_readers.log_mb} MB log: ${fmt(f.write_under_readers.with_readers_p99_us)} µs vs ${fmt(f.write_under_readers.alone_p99_us)} µs alone (ratio ${f.write_under_readers.ratio.toFixed(2)}, target ≤ 5: ${ok(out.targets.write_under_readers_p99_ratio.ok)})`);
}

/** Whether PostgreSQL answers at PG_URL: the reason it does not, or undefined. */
async function pgUnreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function pgQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// ── (f) raw PostgreSQL INSERTs, (9) bmo's durable POST on PostgreSQL, and on jsonl ────────────
async function sectionPg(ctx: Ctx): Promise<void> {
  const { out, root, closers, children } = ctx;
  log(`(f)+(9) PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')}: ${HTTP_CONNECTIONS} clients, ${PG_ROUNDS} rounds of raw INSERTs (no HTTP), bmo's POST on PostgreSQL, bmo's POST on jsonl, best of each kept…`);
  const unreachable = await pgUnreachable();
  if (unreachable) {
    log(`  no PostgreSQL answers (${unreachable}): the PostgreSQL figures are not measured; set BMO_BENCH_PG_URL to one that does`);
    out.figures.pg = { skipped: `no PostgreSQL answers at the bench's url: ${unreachable}` };
    ctx.productLines.push('  PostgreSQL: not measured, no server answered');
    return;
  }
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const rawSchema = `bench_raw_${suffix}`;
  const bmoSchema = `bench_bmo_${suffix}`;
  const { table, ddl } = pgCeilingTable(rawSchema);
  await pgQuery(ddl);
  closers.push(() => pgQuery(`DROP SCHEMA IF EXISTS "${rawSchema}" CASCADE; DROP SCHEMA IF EXISTS "${bmoSchema}" CASCADE`));
  const teamId = 'bench-team';
  const pgBmo = await startBenchBmo(join(root, 'pg'), { pgSchema: bmoSchema });
  closers.push(() => pgBmo.close());
  await createTeam(pgBmo, teamId);
  const jsonlBmo = await startBenchBmo(join(root, 'pg-jsonl'));
  closers.push(() => jsonlBmo.close());
  await createTeam(jsonlBmo, teamId);
  const load = new BenchChild('load.js');
  const pgLoad = new BenchChild('pg-load.js');
  children.push(load, pgLoad);
  await Promise.all([load.next('ready'), pgLoad.next('ready')]);
  const line = envelopeLine(`teams/${teamId}`, messageEvent(`${BODY} (0)`)).toString('utf8');
  const rawConfig = (warmupMs = HTTP_WARMUP_MS, durationMs = HTTP_MEASURE_MS): PgLoadConfig & ChildMessage => ({ type: 'run', url: PG_URL, table, line, connections: HTTP_CONNECTIONS, warmupMs, durationMs });
  const messages = `/v1/teams/${teamId}/messages`;
  log('  warm-up (not counted): 1.5 s against each…');
  await warmUp(pgLoad, rawConfig(500, 1_000));
  await warmUp(load, httpLoad(pgBmo.url!, messages, 201, 500, 1_000));
  await warmUp(load, httpLoad(jsonlBmo.url!, messages, 201, 500, 1_000));
  const rawRuns: LoadRun[] = [];
  const pgRuns: LoadRun[] = [];
  const jsonlRuns: LoadRun[] = [];
  for (let r = 0; r < PG_ROUNDS; r++) {
    rawRuns.push(await measuredRun(`run ${r + 1} ceiling (f) raw PostgreSQL INSERT, synchronous_commit on`, pgLoad, rawConfig(), undefined, true));
    pgRuns.push(await measuredRun(`run ${r + 1} product (9) POST ${messages} on PostgreSQL`, load, httpLoad(pgBmo.url!, messages, 201), pgBmo, true));
    jsonlRuns.push(await measuredRun(`run ${r + 1} product (9j) POST ${messages} on jsonl`, load, httpLoad(jsonlBmo.url!, messages, 201), jsonlBmo, true));
  }
  await Promise.all([load.stop(), pgLoad.stop()]);
  await closers.pop()!();
  await closers.pop()!();
  await closers.pop()!();
  const bestRaw = best(rawRuns);
  const pgRatio = best(pgRuns).reqPerSec / bestRaw.reqPerSec;
  const jsonlRatio = best(jsonlRuns).reqPerSec / bestRaw.reqPerSec;
  out.ceilings.pg_insert = { req_per_s: round(bestRaw.reqPerSec), runs: rawRuns.map((r) => round(r.reqPerSec)), p50_ms: round(bestRaw.p50Ms, 2), p99_ms: round(bestRaw.p99Ms, 2), connections: HTTP_CONNECTIONS, synchronous_commit: 'on' };
  out.figures.pg_post = { ...postFigure(pgRuns), ratio: round(pgRatio, 3) };
  out.figures.pg_jsonl_post = { ...postFigure(jsonlRuns), ratio: round(jsonlRatio, 3) };
  out.targets.pg_post_ratio = { value: round(pgRatio, 3), target: '>= 0.7', ok: pgRatio >= 0.7 };
  out.targets.pg_jsonl_post_ratio = { value: round(jsonlRatio, 3), target: '>= 2', ok: jsonlRatio >= 2 };
  const f = out.figures;
  out.ceilings.pg_insert.postgres_cpu_us_per_req = bestRaw.pgUsPerReq === undefined ? null : round(bestRaw.pgUsPerReq);
  ctx.ceilingLines.push(`  (f) raw PostgreSQL INSERT, ${HTTP_CONNECTIONS} clients, synchronous_commit on: ${fmt(out.ceilings.pg_insert.req_per_s)} inserts/s`);
  ctx.productLines.push(`  durable messages POST on PostgreSQL: ${fmt(f.pg_post.req_per_s)} req/s (ratio to (f) ${pgRatio.toFixed(2)}, target ≥ 0.7: ${ok(out.targets.pg_post_ratio.ok)}); on jsonl ${fmt(f.pg_jsonl_post.req_per_s)} req/s (ratio to (f) ${jsonlRatio.toFixed(2)}, target ≥ 2: ${ok(out.targets.pg_jsonl_post_ratio.ok)}); load average ${f.pg_post.loadavg_1m}`);
}

const RUNNERS: Record<Section, (ctx: Ctx) => Promise<void>> = {
  sync: sectionSync,
  http: sectionHttp,
  ws: sectionWs,
  fanout: sectionFanout,
  replay: sectionReplay,
  snapshot: sectionSnapshot,
  page: sectionPage,
  mcp: sectionMcp,
  readers: sectionReaders,
  pg: sectionPg,
};

async function main(): Promise<void> {
  const sections = selectedSections();
  const root = fs.mkdtempSync(join(tmpdir(), 'bmo-bench-'));
  process.once('SIGINT', () => {
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(130);
  });
  const children: BenchChild[] = [];
  const ctx: Ctx = {
    root,
    out: { ceilings: {}, figures: {}, targets: {} },
    children,
    closers: [],
    ceilingLines: [],
    productLines: [],
    replayData: replayDataOnce(root),
    replayChild: replayChildOf(children),
  };
  const load0 = loadavg()[0];
  log(`bmo bench: node ${process.version}, sections ${[...sections].join(', ')}, 1-min load average ${load0.toFixed(2)} (a shared machine: other processes compete for the cores), scratch in ${root}`);
  try {
    for (const section of SECTIONS) if (sections.has(section)) await RUNNERS[section](ctx);
  } finally {
    for (const child of children) await child.stop().catch(() => {});
    for (const close of ctx.closers.reverse()) await close().catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  }

  // ── summary ───────────────────────────────────────────────────────────────────────────────
  const { out } = ctx;
  console.log('');
  console.log('ceilings');
  for (const line of ctx.ceilingLines) console.log(line);
  console.log('product');
  for (const line of ctx.productLines) console.log(line);
  const t = out.targets;
  const allOk = Object.values(t).every((x) => x.ok);
  console.log(`  ${allOk ? 'all targets measured were met' : `targets missed: ${Object.entries(t).filter(([, x]) => !x.ok).map(([k]) => k).join(', ')}`}; total ${fmt((performance.now() - started) / 1000, 1)} s`);
  console.log(JSON.stringify({ bench: 'bmo', node: process.version, sections: [...sections], seconds: round((performance.now() - started) / 1000, 1), loadavg_1m: { start: round(load0, 2), end: round(loadavg()[0], 2) }, ...out, all_ok: allOk }));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error('bench failed:', error);
    process.exit(1);
  },
);

/** A snapshot of the replayed store (written once, not timed as a start), then starts from it: what a restart costs with snapshots. */
async function snapshotRestart(dataDir: string, events: number, replayChild: (label: string, args: string[]) => Promise<ChildMessage>) {
  const written = await replayChild('snapshot: a full replay, then a snapshot of it', ['snapshot-write', dataDir]);
  const info = written.snapshot as { writeMs: number; bytes: number; longestBlockMs: number };
  log(`  snapshot written in ${fmt(info.writeMs)} ms, ${fmt(info.bytes / 1024 / 1024, 1)} MB; the event loop held at most ${fmt(info.longestBlockMs, 1)} ms at a time meanwhile`);
  const starts: ChildMessage[] = [];
  for (let r = 0; r < REPLAY_ROUNDS; r++) starts.push(await replayChild(`run ${r + 1} product (3s) Pipeline.start() from the snapshot`, ['snapshot', dataDir]));
  for (const r of starts) if (r.events !== events) throw new Error(`a start from the snapshot holds ${r.events} events, expected ${events}`);
  return { starts, writeMs: info.writeMs, bytes: info.bytes };
}
