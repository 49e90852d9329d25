import { idIn, type Envelope, type EventOf, type EventType } from '../events/index.js';
import { LazyMap, mergeByKey, type PackedEntries, type Projection } from './types.js';

export interface MemberView {
  member_id: string;
  name: string;
  role: 'lead' | 'member';
  session_id?: string;
  active: boolean;
  joined_at: string;
  left_at?: string;
}

export type TaskStatus = 'open' | 'claimed' | 'completed' | 'failed';

export interface TaskView {
  task_id: string;
  title: string;
  description?: string;
  blocked_by: string[];
  status: TaskStatus;
  owner?: string;
  owner_session_id?: string;
  fencing_token?: number;
  lease_ms?: number;
  lease_expires_at?: string;
  result?: string;
  error?: string;
  notes: string[];
  created_at: string;
  updated_at: string;
}

export interface MessageView {
  message_id: string;
  from: string;
  to: string;
  body: string;
  sent_at: string;
  read_by: string[];
}

/**
 * One team as its log tells it: the detail read model, the lean read model and the decider's write
 * model, each the same shape, each folded by its own fold (evolveTeam, evolveLeanTeam, evolveDecisionTeam;
 * the lean ones leave texts empty).
 */
export interface TeamView {
  team_id: string;
  name: string;
  goal?: string;
  lead_member_id: string;
  lead_session_id?: string;
  status: 'active' | 'shutdown' | 'removed';
  removed_reason?: 'delete' | 'cleanup';
  version: number;
  created_at: string;
  updated_at: string;
  members: Map<string, MemberView>;
  tasks: Map<string, TaskView>;
  /** Every message; only `full` keeps their bodies, and `lean` keeps only the unread ones' ids (each with one shared empty record). */
  messages: Map<string, MessageView>;
  message_count: number;
  /** Messages no one has read yet, kept as the messages come and go: the posture counts them at every commit. */
  unread_count: number;
  /** The highest fencing token handed out: the next claim gets a larger one. */
  last_fencing_token: number;
}

export function taskIsBlocked(team: TeamView, task: TaskView): string[] {
  return task.blocked_by.filter((id) => team.tasks.get(id)?.status !== 'completed');
}

export function taskIsReady(team: TeamView, task: TaskView): boolean {
  return task.status === 'open' && taskIsBlocked(team, task).length === 0;
}

export function activeMembers(team: TeamView): MemberView[] {
  return [...team.members.values()].filter((m) => m.active);
}

const NO_NOTES: string[] = Object.freeze([]) as unknown as string[];
/** An unread message's readers, shared (a message's list is replaced on a read, never changed in place). */
const NO_READERS: string[] = Object.freeze([]) as unknown as string[];
/**
 * Every unread message of a lean view: the id is the map's key and nothing reads more of a lean
 * message (the counts are kept apart), so they all share this one record, never changed.
 */
const LEAN_MESSAGE: MessageView = Object.freeze({ message_id: '', from: '', to: '', body: '', sent_at: '', read_by: NO_READERS });
/** A lean task's empty dependency list, shared (a task's list is replaced on update, never changed in place). */
const NO_DEPS: string[] = Object.freeze([]) as unknown as string[];

/** What each event does to a team, by type; a type a fold leaves out changes only its version. */
type TeamHandlers = { [T in EventType]?: (team: TeamView, event: Envelope<EventOf<T>>) => void };
type TeamCreated = Envelope<EventOf<'team_created'>>;
type Fold = (team: TeamView | undefined, event: Envelope) => TeamView | undefined;

/** A team fold: `create` makes the team on `team_created`, `handlers` fold everything after. */
function teamFold(create: (event: TeamCreated) => TeamView, handlers: TeamHandlers): Fold {
  return (team, event) => {
    if (event.type === 'team_created') return create(event as TeamCreated);
    if (!team) return team;
    team.version = event.seq;
    team.updated_at = event.at;
    (handlers[event.type] as ((team: TeamView, event: Envelope) => void) | undefined)?.(team, event);
    return team;
  };
}

function newTeam(event: TeamCreated, goal: string | undefined): TeamView {
  const d = event.data;
  return {
    team_id: d.team_id,
    name: d.name,
    goal,
    lead_member_id: d.lead_member_id,
    lead_session_id: d.lead_session_id,
    status: 'active',
    version: event.seq,
    created_at: event.at,
    updated_at: event.at,
    members: new Map(),
    tasks: new Map(),
    messages: new Map(),
    message_count: 0,
    unread_count: 0,
    last_fencing_token: 0,
  };
}

/** Members come and go, the team shuts down or is removed: alike in every fold. */
const membersAndStatus: TeamHandlers = {
  member_joined(team, { data: d, at }) {
    team.members.set(d.member_id, { member_id: d.member_id, name: d.name, role: d.role, session_id: d.session_id, active: true, joined_at: at });
  },
  member_session_moved(team, { data }) {
    const member = team.members.get(data.member_id);
    if (member) member.session_id = data.session_id;
    if (data.member_id === team.lead_member_id) team.lead_session_id = data.session_id;
    // Its claims go with it: the new session's heartbeats renew them, the old one's no longer do.
    for (const task of team.tasks.values()) {
      if (task.status === 'claimed' && task.owner === data.member_id) task.owner_session_id = data.session_id;
    }
  },
  member_left(team, { data, at }) {
    const member = team.members.get(data.member_id);
    if (member) Object.assign(member, { active: false, left_at: at });
  },
  team_shutdown(team) {
    team.status = 'shutdown';
  },
  team_removed(team, { data }) {
    team.status = 'removed';
    team.removed_reason = data.reason;
  },
};

/** Claims taken and given back; `timeOf` is the time a task change records ('' where nothing shows it). */
function claims(timeOf: (event: Envelope) => string): TeamHandlers {
  const reopen = (team: TeamView, event: Envelope<EventOf<'task_released' | 'task_reclaimed'>>) => {
    const task = team.tasks.get(event.data.task_id);
    if (task) Object.assign(task, { status: 'open', owner: undefined, owner_session_id: undefined, fencing_token: undefined, lease_expires_at: undefined, lease_ms: undefined, updated_at: timeOf(event) });
  };
  return {
    task_claimed(team, event) {
      const d = event.data;
      const task = team.tasks.get(d.task_id);
      if (task) {
        const claim = { owner: d.member_id, owner_session_id: d.session_id, fencing_token: d.fencing_token, lease_ms: d.lease_ms, lease_expires_at: d.lease_expires_at };
        Object.assign(task, { status: 'claimed', ...claim, updated_at: timeOf(event) });
      }
      team.last_fencing_token = Math.max(team.last_fencing_token, d.fencing_token);
    },
    task_released: reopen,
    task_reclaimed: reopen,
  };
}

/** Tasks with their texts, notes, results and times: the full view. */
const tasksWithTexts: TeamHandlers = {
  ...claims((event) => event.at),
  task_created(team, { data: d, at }) {
    team.tasks.set(d.task_id, { task_id: d.task_id, title: d.title, description: d.description, blocked_by: d.blocked_by ?? [], status: 'open', notes: [], created_at: at, updated_at: at });
  },
  task_updated(team, { data: d, at }) {
    const task = team.tasks.get(d.task_id);
    if (!task) return;
    if (d.blocked_by !== undefined) task.blocked_by = d.blocked_by;
    if (d.title !== undefined) task.title = d.title;
    if (d.description !== undefined) task.description = d.description;
    if (d.note !== undefined) task.notes.push(d.note);
    task.updated_at = at;
  },
  task_completed(team, { data, at }) {
    const task = team.tasks.get(data.task_id);
    if (task) Object.assign(task, { status: 'completed', result: data.result, lease_expires_at: undefined, updated_at: at });
  },
  task_failed(team, { data, at }) {
    const task = team.tasks.get(data.task_id);
    if (task) Object.assign(task, { status: 'failed', error: data.error, lease_expires_at: undefined, updated_at: at });
  },
};

/** A done task of a lean view: its status alone (counts, dependencies), and little else. */
const doneTask = (team: TeamView, taskId: string, status: 'completed' | 'failed') => {
  if (team.tasks.has(taskId)) team.tasks.set(taskId, { task_id: taskId, title: '', blocked_by: NO_DEPS, status, notes: NO_NOTES, created_at: '', updated_at: '' });
};

/** Tasks without texts or times (nothing that reads a lean view shows them): statuses, owners, leases, dependencies. */
const tasksWithoutTexts: TeamHandlers = {
  ...claims(() => ''),
  task_created(team, { data: d }) {
    const blocked_by = d.blocked_by?.length ? d.blocked_by : NO_DEPS;
    team.tasks.set(d.task_id, { task_id: d.task_id, title: '', description: undefined, blocked_by, status: 'open', notes: NO_NOTES, created_at: '', updated_at: '' });
  },
  task_updated(team, { data: d }) {
    const task = team.tasks.get(d.task_id);
    if (!task) return;
    if (d.blocked_by !== undefined) task.blocked_by = d.blocked_by;
    task.updated_at = '';
  },
  task_completed: (team, { data }) => doneTask(team, data.task_id, 'completed'),
  task_failed: (team, { data }) => doneTask(team, data.task_id, 'failed'),
};

/** A message sent: counted, and kept as `message` makes it. */
const sent =
  (message: (event: Envelope<EventOf<'message_sent'>>) => MessageView) =>
  (team: TeamView, event: Envelope<EventOf<'message_sent'>>): void => {
    team.messages.set(event.data.message_id, message(event));
    team.message_count++;
    team.unread_count++;
  };

/** A read adds its reader (once) to a new list, never a push: an unread message shares the one empty list. */
function readBy(team: TeamView, { data }: Envelope<EventOf<'message_read'>>): void {
  const message = team.messages.get(data.message_id);
  if (!message || message.read_by.includes(data.member_id)) return;
  if (message.read_by.length === 0) team.unread_count--;
  message.read_by = [...message.read_by, data.member_id];
}

/** Every message with its body and readers: the full view. */
const messagesWithBodies: TeamHandlers = {
  message_sent: sent(({ data: d, at }) => ({ message_id: d.message_id, from: d.from, to: d.to, body: d.body, sent_at: at, read_by: NO_READERS })),
  message_read: readBy,
};

/** Every message with its readers, no body: the decider answers a read once per reader and never reuses an id. */
const messagesWithReaders: TeamHandlers = {
  message_sent: sent(({ data: d }) => ({ message_id: d.message_id, from: d.from, to: d.to, body: '', sent_at: '', read_by: NO_READERS })),
  message_read: readBy,
};

/** Only the unread messages, all one shared record: the lean view counts them and reads nothing more. */
const unreadMessages: TeamHandlers = {
  message_sent: sent(() => LEAN_MESSAGE),
  message_read(team, { data }) {
    if (!team.messages.delete(data.message_id)) return;
    team.unread_count--;
  },
};

/** A team with everything, texts included: a team's detail, folded from its log when asked for. */
export const evolveTeam: Fold = teamFold((event) => newTeam(event, event.data.goal), { ...membersAndStatus, ...tasksWithTexts, ...messagesWithBodies });

/**
 * What lists, the posture, cleanup and leases need, without goals, titles, descriptions, results
 * and bodies: every team stays in memory this way.
 */
export const evolveLeanTeam: Fold = teamFold((event) => newTeam(event, undefined), { ...membersAndStatus, ...tasksWithoutTexts, ...unreadMessages });

/** What the team decider needs: the lean view, but with every message and its readers. */
export const evolveDecisionTeam: Fold = teamFold((event) => newTeam(event, undefined), { ...membersAndStatus, ...tasksWithoutTexts, ...messagesWithReaders });

/** A message is in a member's inbox when it is addressed to them or to everyone, and not their own. */
export function inboxOf(team: TeamView, memberId: string): MessageView[] {
  return [...team.messages.values()].filter((m) => (m.to === memberId || m.to === '*') && m.from !== memberId);
}

/**
 * Every team by id, lean, and the team the event before was folded into. A replay reads a log's
 * events one after another and a busy team's appends come in runs, so most events go to that same
 * team: found here, without cutting the id out of the stream name and looking it up again (a third
 * of the fold's time). The state carries it, so one state never answers from another's, and a
 * structured clone or a snapshot leaves it behind.
 */
export class TeamMap extends LazyMap<TeamView> {
  #lastStream?: string;
  #lastTeam?: TeamView;

  /** The teams of a snapshot, each decoded when first read (a start reads few of them). */
  static restored(entries: PackedEntries): TeamMap {
    const teams = new TeamMap();
    teams.fillPacked(entries, (json) => unpackTeam(JSON.parse(json)));
    return teams;
  }

  /** Every team that may hold a claim (the others hold none), for the lease sweeper and heartbeats: teams a snapshot says hold none stay undecoded. */
  mayHoldClaims(): IterableIterator<TeamView> {
    return this.marked();
  }

  /** The team the event before went to, when that event was of `stream`. */
  lastOf(stream: string): TeamView | undefined {
    return this.#lastStream === stream ? this.#lastTeam : undefined;
  }

  folded(stream: string, team: TeamView | undefined): void {
    this.#lastStream = stream;
    this.#lastTeam = team;
  }
}

/** Every team by id, lean, as the logs tell them; removed teams stay, marked removed. */
export const teamsProjection: Projection<TeamMap> = {
  name: 'teams',
  version: 5,
  handles: ['teams'],
  initialState: () => new TeamMap(),
  merge: (teams, part) => {
    mergeByKey(teams, part);
    return teams;
  },
  packEntry: packTeam,
  markEntry: (team) => team.status !== 'removed' && [...team.tasks.values()].some((task) => task.status === 'claimed'),
  restore: (data) => TeamMap.restored(data as PackedEntries),
  evolve(teams, event) {
    // Only team_created makes a new team object; every other event folds into the one there is.
    const last = event.type === 'team_created' ? undefined : teams.lastOf(event.stream);
    if (last) {
      evolveLeanTeam(last, event);
      return teams;
    }
    const id = idIn('teams', event.stream);
    if (id === undefined) return teams;
    const team = teams.get(id);
    const next = evolveLeanTeam(team, event);
    if (next && next !== team) teams.set(id, next);
    teams.folded(event.stream, next);
    return teams;
  },
};

/**
 * A lean team as one flat array, for a snapshot: members 7 values each, tasks 8 each plus their
 * blockers (counted before them), then the unread message ids. Flat, a start from a snapshot
 * parses a few arrays a team rather than one for each member and task, and the shared empty
 * records come back shared.
 */
type PackedTeam = [string, string, string, string | undefined, TeamView['status'], TeamView['removed_reason'], number, string, string, number, number, number, unknown[], unknown[], string[]];

function packTeam(t: TeamView): PackedTeam {
  const members: unknown[] = [];
  for (const m of t.members.values()) members.push(m.member_id, m.name, m.role, m.session_id, m.active, m.joined_at, m.left_at);
  const tasks: unknown[] = [];
  for (const k of t.tasks.values()) tasks.push(k.task_id, k.status, k.blocked_by.length, ...k.blocked_by, k.owner, k.owner_session_id, k.fencing_token, k.lease_ms, k.lease_expires_at);
  return [t.team_id, t.name, t.lead_member_id, t.lead_session_id, t.status, t.removed_reason, t.version, t.created_at, t.updated_at, t.message_count, t.unread_count, t.last_fencing_token, members, tasks, [...t.messages.keys()]];
}

// JSON writes an undefined in an array as null: each comes back undefined.
function unpackTeam(p: PackedTeam): TeamView {
  const [team_id, name, lead_member_id, lead_session_id, status, removed_reason, version, created_at, updated_at, message_count, unread_count, last_fencing_token, members, tasks, unread] = p;
  const team: TeamView = { team_id, name, goal: undefined, lead_member_id, lead_session_id: lead_session_id ?? undefined, status, version, created_at, updated_at, members: new Map(), tasks: new Map(), messages: new Map(), message_count, unread_count, last_fencing_token };
  if (removed_reason) team.removed_reason = removed_reason;
  for (let i = 0; i < members.length; i += 7) {
    const member = { member_id: members[i], name: members[i + 1], role: members[i + 2], session_id: members[i + 3] ?? undefined, active: members[i + 4], joined_at: members[i + 5] } as MemberView;
    if (members[i + 6] != null) member.left_at = members[i + 6] as string;
    team.members.set(member.member_id, member);
  }
  for (let i = 0; i < tasks.length; ) {
    const task_id = tasks[i] as string;
    const blockers = tasks[i + 2] as number;
    const task: TaskView = { task_id, title: '', blocked_by: blockers ? (tasks.slice(i + 3, i + 3 + blockers) as string[]) : NO_DEPS, status: tasks[i + 1] as TaskStatus, notes: NO_NOTES, created_at: '', updated_at: '' };
    i += 3 + blockers;
    if (tasks[i] != null) Object.assign(task, { owner: tasks[i], owner_session_id: tasks[i + 1] ?? undefined, fencing_token: tasks[i + 2] ?? undefined, lease_ms: tasks[i + 3] ?? undefined, lease_expires_at: tasks[i + 4] ?? undefined });
    i += 5;
    team.tasks.set(task_id, task);
  }
  for (const id of unread) team.messages.set(id, LEAN_MESSAGE);
  return team;
}

/** Teams oldest first (created_at, then id): the same order whatever order the logs were replayed in. */
export function teamsInOrder(teams: Map<string, TeamView>): TeamView[] {
  return [...teams.values()].sort((a, b) => (a.created_at === b.created_at ? (a.team_id < b.team_id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));
}

/** The JSON shape of a team served over HTTP and shown by the CLI. */
export function presentTeam(team: TeamView) {
  return {
    team_id: team.team_id,
    name: team.name,
    goal: team.goal,
    status: team.status,
    removed_reason: team.removed_reason,
    lead_member_id: team.lead_member_id,
    lead_session_id: team.lead_session_id,
    version: team.version,
    created_at: team.created_at,
    updated_at: team.updated_at,
    members: [...team.members.values()],
    tasks: [...team.tasks.values()].map((task) => presentTask(team, task)),
    messages: { total: team.message_count },
  };
}

export function presentTask(team: TeamView, task: TaskView) {
  return { ...task, ready: taskIsReady(team, task), waiting_on: taskIsBlocked(team, task) };
}

export function teamSummary(team: TeamView) {
  const tasks = { open: 0, claimed: 0, completed: 0, failed: 0, blocked: 0, ready: 0 };
  for (const task of team.tasks.values()) {
    tasks[task.status]++;
    if (task.status === 'open') {
      if (taskIsReady(team, task)) tasks.ready++;
      else tasks.blocked++;
    }
  }
  return {
    team_id: team.team_id,
    name: team.name,
    status: team.status,
    version: team.version,
    lead_member_id: team.lead_member_id,
    members: activeMembers(team).length,
    tasks: { total: team.tasks.size, ...tasks },
    messages: { total: team.message_count, unread: team.unread_count },
    updated_at: team.updated_at,
  };
}
