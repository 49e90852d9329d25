/**
 * A realistic store to replay: `streams` team logs of `perStream` events each, in the store layout
 * (`<dataDir>/teams/<id>/events.jsonl`), encoded by the store's own `encodeLine` with seq 1..n per
 * stream and a global pos interleaved across streams as concurrent teams would write it. The same
 * lines are also written, concatenated, to one file for the raw parse ceiling.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import type { DomainEvent, StreamName } from '../events/index.js';
import { encodeLine } from '../src/store/line.js';

const MEMBERS = ['m1', 'm2', 'm3', 'm4'];
const BODIES = [
  'picked up the flaky test in the ingest path; will report back with a repro',
  'rebased on main, verify is green; ready for review when you are',
  'blocked on the schema change, can someone with access to staging run the migration?',
  'handing off: the parser fix is in, the docs still need a pass',
];

/** The events of one team, in order: create, members, then a cycle of task and message work. */
function teamEvents(teamId: string, n: number, atMs: number): { events: DomainEvent[]; at: string[] } {
  const events: DomainEvent[] = [];
  const at: string[] = [];
  const push = (event: DomainEvent) => {
    events.push(event);
    at.push(new Date(atMs + events.length * 1_500).toISOString());
  };
  push({ type: 'team_created', data: { team_id: teamId, name: `team ${teamId.slice(0, 8)}`, goal: 'ship the quarterly ingest rewrite without downtime', lead_member_id: 'lead', lead_session_id: `s-${teamId.slice(0, 8)}` } } as DomainEvent);
  push({ type: 'member_joined', data: { member_id: 'lead', name: 'Lead agent', role: 'lead', session_id: `s-${teamId.slice(0, 8)}` } } as DomainEvent);
  for (const m of MEMBERS) push({ type: 'member_joined', data: { member_id: m, name: `Worker ${m}`, role: 'member' } } as DomainEvent);
  let token = 0;
  let task = '';
  let lastMessage = '';
  for (let i = 0; events.length < n; i++) {
    const member = MEMBERS[i % MEMBERS.length];
    switch (i % 6) {
      case 0:
        task = randomUUID();
        push({ type: 'task_created', data: { task_id: task, title: `task ${i}: make the importer idempotent`, description: 'retries must not duplicate rows', blocked_by: [] } } as DomainEvent);
        break;
      case 1:
        push({ type: 'task_claimed', data: { task_id: task, member_id: member, fencing_token: ++token, lease_ms: 300_000, lease_expires_at: new Date(atMs + 300_000 + i * 1_500).toISOString() } } as DomainEvent);
        break;
      case 2:
        lastMessage = randomUUID();
        push({ type: 'message_sent', data: { message_id: lastMessage, from: member, to: 'lead', body: BODIES[i % BODIES.length] } } as DomainEvent);
        break;
      case 3:
        push({ type: 'task_completed', data: { task_id: task, member_id: MEMBERS[(i - 2) % MEMBERS.length], fencing_token: token, result: 'done; see the verify run' } } as DomainEvent);
        break;
      case 4:
        lastMessage = randomUUID();
        push({ type: 'message_sent', data: { message_id: lastMessage, from: 'lead', to: '*', body: BODIES[(i + 1) % BODIES.length] } } as DomainEvent);
        break;
      case 5:
        push({ type: 'message_read', data: { message_id: lastMessage, member_id: member } } as DomainEvent);
        break;
    }
  }
  return { events, at };
}

export interface ReplayData {
  dataDir: string;
  flatFile: string;
  events: number;
  bytes: number;
}

export function writeReplayData(root: string, streams: number, perStream: number): ReplayData {
  const dataDir = join(root, 'data');
  const flatFile = join(root, 'flat.jsonl');
  fs.mkdirSync(join(dataDir, 'teams'), { recursive: true });
  const flat = fs.openSync(flatFile, 'w');
  const base = Date.parse('2025-06-01T09:00:00.000Z');
  let bytes = 0;
  let events = 0;
  try {
    for (let k = 0; k < streams; k++) {
      const teamId = randomUUID();
      const stream: StreamName = `teams/${teamId}`;
      const { events: domain, at } = teamEvents(teamId, perStream, base + k * 37);
      const lines: Buffer[] = [];
      domain.forEach((event, j) => {
        // Round j of every team comes before round j+1: positions interleave across the logs.
        const pos = j * streams + k + 1;
        lines.push(encodeLine({ pos, stream, seq: j + 1, id: randomUUID(), type: event.type, at: at[j], data: event.data, meta: { invocation_id: randomUUID() } } as Parameters<typeof encodeLine>[0]).line);
      });
      const buf = Buffer.concat(lines);
      const dir = join(dataDir, stream);
      fs.mkdirSync(dir);
      fs.writeFileSync(join(dir, 'events.jsonl'), buf);
      fs.writeSync(flat, buf);
      bytes += buf.length;
      events += lines.length;
    }
  } finally {
    fs.closeSync(flat);
  }
  return { dataDir, flatFile, events, bytes };
}
