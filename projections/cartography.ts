import { idIn, type Envelope, type EventOf } from '../events/index.js';
import { commandLine, verifyPassed } from './workstream.js';
import { mergeByKey, type Projection } from './types.js';

/** Trail looks at the last TRAIL_WINDOW runs of a command (by pos) … */
export const TRAIL_WINDOW = 5;
/** … and speaks up when TRAIL_THRESHOLD of them failed, or were truncated. */
export const TRAIL_THRESHOLD = 2;
/** A path is a hotspot once markers were added on it this many times (or a finding landed on a marked path). */
export const MARKER_HOTSPOT = 2;

export interface WorkstreamHeat {
  workstream_id: string;
  label: string;
  events: number;
  verify_runs: number;
  verify_failures: number;
  nanites: number;
  findings: number;
  markers_added: number;
  artifacts: number;
  last_pos: number;
  last_at: string;
}

export interface PathHeat {
  path: string;
  hits: number;
  plans: number;
  findings: number;
  artifacts: number;
  markers_added: number;
  markers_open: number;
  /** Hits per workstream. */
  workstreams: Map<string, number>;
  last_pos: number;
  last_at: string;
}

export interface OpenMarker {
  workstream_id: string;
  marker_id: string;
  path: string;
  note: string;
  added_at: string;
  pos: number;
}

export interface RunSignal {
  pos: number;
  at: string;
  workstream_id: string;
  session_id?: string;
  exit_code: number | null;
  failed: boolean;
  truncated: boolean;
  timed_out: boolean;
}

export interface CommandHistory {
  command: string;
  argv: string[];
  total: number;
  /** The last TRAIL_WINDOW runs by pos, oldest first, whatever order the streams were folded in. */
  window: RunSignal[];
}

export interface CartographyState {
  workstreams: Map<string, WorkstreamHeat>;
  paths: Map<string, PathHeat>;
  /** Open markers by `<workstream>/<marker>`. */
  markers: Map<string, OpenMarker>;
  commands: Map<string, CommandHistory>;
}

/** The same place however it was typed: no `./` prefix, no trailing slash. */
export function normalizePath(path: string): string {
  const trimmed = path.trim().replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return trimmed || path;
}

const isUrl = (ref: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(ref);

function touchPath(state: CartographyState, raw: string, workstreamId: string, event: Envelope, what: 'plans' | 'findings' | 'artifacts' | 'markers_added'): PathHeat {
  const path = normalizePath(raw);
  let heat = state.paths.get(path);
  if (!heat) {
    heat = { path, hits: 0, plans: 0, findings: 0, artifacts: 0, markers_added: 0, markers_open: 0, workstreams: new Map(), last_pos: 0, last_at: event.at };
    state.paths.set(path, heat);
  }
  heat.hits++;
  heat[what]++;
  heat.workstreams.set(workstreamId, (heat.workstreams.get(workstreamId) ?? 0) + 1);
  if (event.pos >= heat.last_pos) {
    heat.last_pos = event.pos;
    heat.last_at = event.at;
  }
  return heat;
}

function recordRun(state: CartographyState, workstreamId: string, event: Envelope<EventOf<'verify_run_recorded'>>): void {
  const d = event.data;
  const command = d.argv.join(' ');
  let history = state.commands.get(command);
  if (!history) {
    history = { command, argv: d.argv, total: 0, window: [] };
    state.commands.set(command, history);
  }
  history.total++;
  const run: RunSignal = {
    pos: event.pos,
    at: event.at,
    workstream_id: workstreamId,
    session_id: d.session_id ?? event.meta.session_id,
    exit_code: d.exit_code,
    failed: !verifyPassed(d),
    truncated: d.truncated,
    timed_out: d.timed_out ?? false,
  };
  const window = history.window;
  if (window.length === TRAIL_WINDOW && run.pos < window[0].pos) return;
  let i = window.length;
  while (i > 0 && window[i - 1].pos > run.pos) i--;
  window.splice(i, 0, run);
  if (window.length > TRAIL_WINDOW) window.shift();
}

/**
 * Cartography: heat per workstream and per path, open markers, and what the trail is made of —
 * folded from every workstream's log. Counts are sums and windows are ordered by pos, so the
 * state does not depend on how streams interleave.
 */
export const cartographyProjection: Projection<CartographyState> = {
  name: 'cartography',
  version: 1,
  handles: ['workstreams'],
  initialState: () => ({ workstreams: new Map(), paths: new Map(), markers: new Map(), commands: new Map() }),
  merge(state, part) {
    mergeByKey(state.workstreams, part.workstreams);
    mergeByKey(state.markers, part.markers);
    for (const [path, heat] of part.paths) {
      const into = state.paths.get(path);
      if (!into) {
        state.paths.set(path, heat);
        continue;
      }
      for (const count of ['hits', 'plans', 'findings', 'artifacts', 'markers_added', 'markers_open'] as const) into[count] += heat[count];
      for (const [ws, hits] of heat.workstreams) into.workstreams.set(ws, (into.workstreams.get(ws) ?? 0) + hits);
      if (heat.last_pos > into.last_pos) {
        into.last_pos = heat.last_pos;
        into.last_at = heat.last_at;
      }
    }
    for (const [command, history] of part.commands) {
      const into = state.commands.get(command);
      if (!into) {
        state.commands.set(command, history);
        continue;
      }
      into.total += history.total;
      into.window = [...into.window, ...history.window].sort((a, b) => a.pos - b.pos).slice(-TRAIL_WINDOW);
    }
    return state;
  },
  evolve(state, event) {
    const id = idIn('workstreams', event.stream);
    if (id === undefined) return state;
    let heat = state.workstreams.get(id);
    if (!heat) {
      heat = { workstream_id: id, label: '', events: 0, verify_runs: 0, verify_failures: 0, nanites: 0, findings: 0, markers_added: 0, artifacts: 0, last_pos: 0, last_at: event.at };
      state.workstreams.set(id, heat);
    }
    heat.events++;
    if (event.pos >= heat.last_pos) {
      heat.last_pos = event.pos;
      heat.last_at = event.at;
    }
    switch (event.type) {
      case 'workstream_created':
        heat.label = event.data.label;
        break;
      case 'plan_bound':
        touchPath(state, event.data.path, id, event, 'plans');
        break;
      case 'verify_run_recorded':
        heat.verify_runs++;
        if (!verifyPassed(event.data)) heat.verify_failures++;
        recordRun(state, id, event);
        break;
      case 'nanite_started':
        heat.nanites++;
        break;
      case 'finding_recorded':
        heat.findings++;
        if (event.data.path) touchPath(state, event.data.path, id, event, 'findings');
        break;
      case 'artifact_attached':
        heat.artifacts++;
        if (!isUrl(event.data.ref)) touchPath(state, event.data.ref, id, event, 'artifacts');
        break;
      case 'marker_added': {
        heat.markers_added++;
        const path = touchPath(state, event.data.path, id, event, 'markers_added');
        path.markers_open++;
        state.markers.set(`${id}/${event.data.marker_id}`, { workstream_id: id, marker_id: event.data.marker_id, path: path.path, note: event.data.note, added_at: event.at, pos: event.pos });
        break;
      }
      case 'marker_cleared': {
        const key = `${id}/${event.data.marker_id}`;
        const marker = state.markers.get(key);
        if (marker) {
          state.markers.delete(key);
          const path = state.paths.get(marker.path);
          if (path) path.markers_open--;
        }
        break;
      }
    }
    return state;
  },
};

export type TrailSignal =
  | { kind: 'failing_command'; command: string; argv: string[]; failed: number; of: number; last_exit_code: number | null; workstreams: string[]; sessions: string[]; last_at: string; last_pos: number; hint: string }
  | { kind: 'repeated_truncation'; command: string; argv: string[]; truncated: number; of: number; workstreams: string[]; sessions: string[]; last_at: string; last_pos: number; hint: string }
  | { kind: 'marker_hotspot'; path: string; markers_added: number; markers_open: number; findings: number; workstreams: string[]; last_at: string; last_pos: number; hint: string };

const distinct = (values: (string | undefined)[]) => [...new Set(values.filter((v): v is string => v !== undefined))].sort();

/** The trail: advisory signals aggregated across workstreams and sessions, newest first. */
export function trailOf(state: CartographyState): TrailSignal[] {
  const trail: TrailSignal[] = [];
  for (const history of state.commands.values()) {
    const { window } = history;
    const last = window[window.length - 1];
    const failed = window.filter((r) => r.failed);
    if (failed.length >= TRAIL_THRESHOLD) {
      const lastFailed = failed[failed.length - 1];
      trail.push({
        kind: 'failing_command',
        command: history.command,
        argv: history.argv,
        failed: failed.length,
        of: window.length,
        last_exit_code: lastFailed.exit_code,
        workstreams: distinct(failed.map((r) => r.workstream_id)),
        sessions: distinct(failed.map((r) => r.session_id)),
        last_at: last.at,
        last_pos: last.pos,
        hint: `\`${commandLine(history.argv)}\` failed in ${failed.length} of its last ${window.length} runs; check it before relying on it`,
      });
    }
    const truncated = window.filter((r) => r.truncated);
    if (truncated.length >= TRAIL_THRESHOLD) {
      trail.push({
        kind: 'repeated_truncation',
        command: history.command,
        argv: history.argv,
        truncated: truncated.length,
        of: window.length,
        workstreams: distinct(truncated.map((r) => r.workstream_id)),
        sessions: distinct(truncated.map((r) => r.session_id)),
        last_at: last.at,
        last_pos: last.pos,
        hint: `the output of \`${commandLine(history.argv)}\` was truncated in ${truncated.length} of its last ${window.length} runs; narrow it or raise [verify] max_output_bytes`,
      });
    }
  }
  for (const path of state.paths.values()) {
    if (path.markers_added >= MARKER_HOTSPOT || (path.markers_added >= 1 && path.findings >= 1)) {
      trail.push({
        kind: 'marker_hotspot',
        path: path.path,
        markers_added: path.markers_added,
        markers_open: path.markers_open,
        findings: path.findings,
        workstreams: [...path.workstreams.keys()].sort(),
        last_at: path.last_at,
        last_pos: path.last_pos,
        hint: `${path.path} was marked ${path.markers_added} time(s)${path.findings ? ` and has ${path.findings} finding(s)` : ''}; inspect it before editing`,
      });
    }
  }
  return trail.sort((a, b) => b.last_pos - a.last_pos || a.kind.localeCompare(b.kind));
}

/** `GET /v1/cartography`: heat, open markers and trail, each list at most `limit` long, in a fixed order. */
export function presentCartography(state: CartographyState, limit = 100) {
  const workstreams = [...state.workstreams.values()].sort((a, b) => b.last_pos - a.last_pos);
  const paths = [...state.paths.values()].sort((a, b) => b.hits - a.hits || b.last_pos - a.last_pos || a.path.localeCompare(b.path));
  const markers = [...state.markers.values()].sort((a, b) => a.pos - b.pos);
  const trail = trailOf(state);
  return {
    heat: {
      workstreams: workstreams.slice(0, limit),
      paths: paths.slice(0, limit).map((p) => ({ ...p, workstreams: Object.fromEntries([...p.workstreams.entries()].sort(([a], [b]) => a.localeCompare(b))) })),
    },
    markers: markers.slice(0, limit),
    trail: trail.slice(0, limit),
    totals: { workstreams: workstreams.length, paths: paths.length, open_markers: markers.length, trail: trail.length, commands: state.commands.size },
    thresholds: { window: TRAIL_WINDOW, threshold: TRAIL_THRESHOLD, marker_hotspot: MARKER_HOTSPOT },
  };
}

/** The trail signals that concern one workstream (for its handoff). */
export function trailFor(state: CartographyState, workstreamId: string): TrailSignal[] {
  return trailOf(state).filter((signal) => signal.workstreams.includes(workstreamId));
}
