import type { FastifyInstance, FastifyRequest } from 'fastify';
import { presentCartography } from '../../projections/cartography.js';
import { buildHandoff, handoffMarkdown } from '../../projections/handoff.js';
import { evolveWorkstream, presentWorkstream, recipeSteps, workstreamStatus, workstreamSummary, type WorkstreamView } from '../../projections/workstream.js';
import { describeAsOf, foldStreamAsOf } from '../pipeline/as-of.js';
import { workstreamEntity, type WorkstreamCommand } from '../domain/workstreams.js';
import { BmoError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { logRoute } from './events.js';
import { page, pageInOrder } from './paging.js';
import { AsOfOnly, asOfOf, commandContext, createdId, idParam, newId, parseWith, sendCommandResult } from './request.js';
import { AddMarker, AttachArtifact, BindPlan, CartographyQuery, ChangeStatus, ClearMarker, CompleteNanite, CreateWorkstream, DeclareBoundary, HandoffQuery, ListEvidence, ListWorkstreams, MarkersQuery, RecordFinding, RecordVerifyRun, SetRecipeStep, StartNanite } from './schemas.js';

export interface WorkstreamRoutesOptions {
  pipeline: Pipeline;
  /** Whether a team a `team` boundary names exists; undefined where teams live on a remote server. */
  teamExists?: (teamId: string) => boolean;
}

/** What every workstream route group reads and runs through. */
interface WorkstreamRouteContext extends WorkstreamRoutesOptions {
  models: () => Pipeline['readModels'];
  run: (request: FastifyRequest, id: string, command: WorkstreamCommand) => ReturnType<Pipeline['execute']>;
  workstreamOf: (request: FastifyRequest, asOf?: ReturnType<typeof asOfOf>) => Promise<WorkstreamView>;
}

/** Workstreams (the factory pattern's durable rows) and the cartography read across them; one plugin per group. */
export async function workstreamRoutes(app: FastifyInstance, options: WorkstreamRoutesOptions): Promise<void> {
  const ctx = workstreamRouteContext(options);
  await app.register(workstreamRowRoutes, ctx);
  await app.register(bindingRoutes, ctx);
  await app.register(runRoutes, ctx);
  await app.register(evidenceRoutes, ctx);
  await app.register(markerRoutes, ctx);
}

function workstreamRouteContext({ pipeline, teamExists }: WorkstreamRoutesOptions): WorkstreamRouteContext {
  const models = () => pipeline.readModels;
  const run = (request: FastifyRequest, id: string, command: WorkstreamCommand) => pipeline.execute(workstreamEntity, id, command, commandContext(request));

  /** One workstream in detail (texts included), folded from its log; the read models keep workstreams lean. With `as_of`, as it was then. */
  const workstreamOf = async (request: FastifyRequest, asOf = asOfOf(request, pipeline)): Promise<WorkstreamView> => {
    const id = idParam(request, 'id');
    if (asOf) {
      const { state } = await foldStreamAsOf<WorkstreamView>(pipeline.store, `workstreams/${id}`, (ws, event) => evolveWorkstream(ws, event), asOf);
      if (pipeline.store.version(`workstreams/${id}`) === 0) throw new BmoError('not_found', `no workstream ${id}; GET /v1/workstreams lists them`, { field: 'id' });
      if (!state) throw new BmoError('not_found', `workstream ${id} did not exist yet at ${describeAsOf(asOf)}; ask for a later point`, { field: 'query.as_of' });
      return state;
    }
    if (!models().workstreams.has(id)) throw new BmoError('not_found', `no workstream ${id}; GET /v1/workstreams lists them`, { field: 'id' });
    return (await pipeline.workstreamDetails.get(`workstreams/${id}`))!;
  };

  return { pipeline, teamExists, models, run, workstreamOf };
}

/** The rows: listed, created, read whole, as a status, as a handoff, as a log; the cartography across them. */
async function workstreamRowRoutes(app: FastifyInstance, { pipeline, models, run, workstreamOf }: WorkstreamRouteContext): Promise<void> {
  app.get('/v1/workstreams', async (request, reply) => {
    const query = parseWith(ListWorkstreams, request.query, 'query');
    let all = [...models().workstreams.values()].sort((a, b) => a.created_pos - b.created_pos);
    if (query.status) all = all.filter((ws) => ws.status === query.status);
    let keyOf = (ws: WorkstreamView) => [ws.created_pos];
    if (query.session) {
      const session = query.session;
      // The most recent workstream whose events carry the session comes first.
      all = all.filter((ws) => ws.sessions.has(session)).sort((a, b) => b.sessions.get(session)! - a.sessions.get(session)!);
      keyOf = (ws) => [-ws.sessions.get(session)!];
    }
    const { items, next_cursor } = page(request, reply, all, keyOf, query);
    return { pos: models().pos, workstreams: items.map(workstreamSummary), next_cursor };
  });

  app.post('/v1/workstreams', async (request, reply) => {
    const body = parseWith(CreateWorkstream, request.body);
    const workstreamId = body.id ?? newId();
    const envelopes = await run(request, workstreamId, { type: 'create_workstream', label: body.label, goal: body.goal, git: body.git });
    return sendCommandResult(reply, 201, envelopes, { workstream_id: createdId(envelopes, 'workstream_id', workstreamId) });
  });

  app.get('/v1/workstreams/:id', async (request, reply) => {
    parseWith(AsOfOnly, request.query, 'query');
    const ws = await workstreamOf(request);
    void reply.header('etag', `"${ws.version}"`);
    return presentWorkstream(ws);
  });

  app.get('/v1/workstreams/:id/status', async (request, reply) => {
    parseWith(AsOfOnly, request.query, 'query');
    const ws = await workstreamOf(request);
    void reply.header('etag', `"${ws.version}"`);
    return workstreamStatus(ws);
  });

  app.get('/v1/workstreams/:id/handoff', async (request, reply) => {
    const { format, full } = parseWith(HandoffQuery, request.query, 'query');
    const asOf = asOfOf(request, pipeline);
    const ws = await workstreamOf(request, asOf);
    // The trail reads every workstream's runs: as of a point, the store folded up to it.
    const cartography = asOf ? (await pipeline.modelsAsOf.get(asOf)).models.cartography : models().cartography;
    const handoff = buildHandoff(ws, cartography, { full: full === true });
    const markdown = format === 'md' || format === 'markdown' || (format === undefined && (request.headers.accept ?? '').includes('text/markdown'));
    void reply.header('etag', `"${ws.version}"`);
    if (markdown) return reply.type('text/markdown; charset=utf-8').send(handoffMarkdown(handoff, asOf && describeAsOf(asOf)));
    return handoff;
  });

  logRoute(app, pipeline, 'workstreams', 'workstream');

  app.get('/v1/cartography', async (request) => {
    const { limit } = parseWith(CartographyQuery, request.query, 'query');
    return { pos: models().pos, ...presentCartography(models().cartography, limit) };
  });
}

/** What the work follows: its plan, recipe, boundary and status. */
async function bindingRoutes(app: FastifyInstance, { run, workstreamOf, teamExists }: WorkstreamRouteContext): Promise<void> {
  app.route({
    method: ['PUT', 'POST'],
    url: '/v1/workstreams/:id/plan',
    handler: async (request, reply) => {
      const id = idParam(request, 'id');
      const body = parseWith(BindPlan, request.body);
      return sendCommandResult(reply, 200, await run(request, id, { type: 'bind_plan', path: body.path, kind: body.kind, git: body.git }), { workstream_id: id });
    },
  });

  app.get('/v1/workstreams/:id/recipe', async (request) => {
    parseWith(AsOfOnly, request.query, 'query');
    const ws = await workstreamOf(request);
    return { workstream_id: ws.workstream_id, version: ws.version, steps: recipeSteps(ws) };
  });

  app.post('/v1/workstreams/:id/recipe', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(SetRecipeStep, request.body);
    return sendCommandResult(reply, 200, await run(request, id, { type: 'set_recipe_step', step: body.step, argv: body.argv }), { workstream_id: id, step: body.step });
  });

  app.route({
    method: ['PUT', 'POST'],
    url: '/v1/workstreams/:id/boundary',
    handler: async (request, reply) => {
      const id = idParam(request, 'id');
      const body = parseWith(DeclareBoundary, request.body);
      if (body.team_id !== undefined && teamExists && !teamExists(body.team_id)) {
        throw new BmoError('not_found', `no team ${body.team_id}; bmo team list (GET /v1/teams) lists them`, { field: 'team_id' });
      }
      return sendCommandResult(reply, 200, await run(request, id, { type: 'declare_boundary', ...body }), { workstream_id: id });
    },
  });

  app.route({
    method: ['PUT', 'POST'],
    url: '/v1/workstreams/:id/status',
    handler: async (request, reply) => {
      const id = idParam(request, 'id');
      const body = parseWith(ChangeStatus, request.body);
      return sendCommandResult(reply, 200, await run(request, id, { type: 'change_status', status: body.status, reason: body.reason, force: body.force }), { workstream_id: id });
    },
  });
}

/** What the work ran: verify runs and nanites. */
async function runRoutes(app: FastifyInstance, { run, workstreamOf }: WorkstreamRouteContext): Promise<void> {
  app.get('/v1/workstreams/:id/verify-runs', async (request, reply) => {
    const query = parseWith(ListEvidence, request.query, 'query');
    const ws = await workstreamOf(request);
    const { items, next_cursor } = pageInOrder(request, reply, ws.verify_runs, query);
    return { workstream_id: ws.workstream_id, version: ws.version, verify_runs: items, next_cursor };
  });

  app.get('/v1/workstreams/:id/verify-runs/:run', async (request) => {
    parseWith(AsOfOnly, request.query, 'query');
    const ws = await workstreamOf(request);
    const runId = idParam(request, 'run');
    const found = ws.verify_runs.find((r) => r.run_id === runId);
    if (!found) throw new BmoError('not_found', `no verify run ${runId} on workstream ${ws.workstream_id}`, { field: 'run' });
    return found;
  });

  app.post('/v1/workstreams/:id/verify-runs', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(RecordVerifyRun, request.body);
    const runId = body.run_id ?? newId();
    const envelopes = await run(request, id, { type: 'record_verify_run', ...body, run_id: runId, timed_out: body.timed_out ?? false });
    return sendCommandResult(reply, 201, envelopes, { workstream_id: id, run_id: createdId(envelopes, 'run_id', runId) });
  });

  app.get('/v1/workstreams/:id/nanites', async (request, reply) => {
    const query = parseWith(ListEvidence, request.query, 'query');
    const ws = await workstreamOf(request);
    const { items, next_cursor } = pageInOrder(request, reply, [...ws.nanites.values()], query);
    return { workstream_id: ws.workstream_id, version: ws.version, nanites: items, next_cursor };
  });

  app.get('/v1/workstreams/:id/nanites/:nanite', async (request) => {
    parseWith(AsOfOnly, request.query, 'query');
    const ws = await workstreamOf(request);
    const naniteId = idParam(request, 'nanite');
    const nanite = ws.nanites.get(naniteId);
    if (!nanite) throw new BmoError('not_found', `no nanite ${naniteId} on workstream ${ws.workstream_id}`, { field: 'nanite' });
    return nanite;
  });

  app.post('/v1/workstreams/:id/nanites', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(StartNanite, request.body);
    const naniteId = body.nanite_id ?? newId();
    const envelopes = await run(request, id, { type: 'start_nanite', ...body, nanite_id: naniteId });
    return sendCommandResult(reply, 201, envelopes, { workstream_id: id, nanite_id: createdId(envelopes, 'nanite_id', naniteId) });
  });

  app.post('/v1/workstreams/:id/nanites/:nanite/complete', async (request, reply) => {
    const id = idParam(request, 'id');
    const naniteId = idParam(request, 'nanite');
    const body = parseWith(CompleteNanite, request.body);
    const envelopes = await run(request, id, { type: 'complete_nanite', nanite_id: naniteId, ...body, truncated: body.truncated ?? false });
    return sendCommandResult(reply, 200, envelopes, { workstream_id: id, nanite_id: naniteId });
  });
}

/** What the work found and made: findings and artifacts. */
async function evidenceRoutes(app: FastifyInstance, { run, workstreamOf }: WorkstreamRouteContext): Promise<void> {
  app.get('/v1/workstreams/:id/findings', async (request, reply) => {
    const query = parseWith(ListEvidence, request.query, 'query');
    const ws = await workstreamOf(request);
    const { items, next_cursor } = pageInOrder(request, reply, [...ws.findings.values()], query);
    return { workstream_id: ws.workstream_id, version: ws.version, findings: items, next_cursor };
  });

  app.post('/v1/workstreams/:id/findings', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(RecordFinding, request.body);
    const findingId = body.finding_id ?? newId();
    const envelopes = await run(request, id, { type: 'record_finding', finding_id: findingId, severity: body.severity, path: body.path, text: body.text });
    return sendCommandResult(reply, 201, envelopes, { workstream_id: id, finding_id: createdId(envelopes, 'finding_id', findingId) });
  });

  app.get('/v1/workstreams/:id/artifacts', async (request, reply) => {
    const query = parseWith(ListEvidence, request.query, 'query');
    const ws = await workstreamOf(request);
    const { items, next_cursor } = pageInOrder(request, reply, [...ws.artifacts.values()], query);
    return { workstream_id: ws.workstream_id, version: ws.version, artifacts: items, next_cursor };
  });

  app.post('/v1/workstreams/:id/artifacts', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(AttachArtifact, request.body);
    const artifactId = body.artifact_id ?? newId();
    const envelopes = await run(request, id, { type: 'attach_artifact', artifact_id: artifactId, ref: body.ref, kind: body.kind, digest: body.digest });
    return sendCommandResult(reply, 201, envelopes, { workstream_id: id, artifact_id: createdId(envelopes, 'artifact_id', artifactId) });
  });
}

/** Markers: listed, added, cleared. */
async function markerRoutes(app: FastifyInstance, { run, workstreamOf }: WorkstreamRouteContext): Promise<void> {
  app.get('/v1/workstreams/:id/markers', async (request, reply) => {
    const query = parseWith(MarkersQuery, request.query, 'query');
    const ws = await workstreamOf(request);
    const open = query.open ? (m: { cleared_at?: string }) => m.cleared_at === undefined : undefined;
    const { items, next_cursor } = pageInOrder(request, reply, [...ws.markers.values()], query, open);
    return { workstream_id: ws.workstream_id, version: ws.version, markers: items, next_cursor };
  });

  app.post('/v1/workstreams/:id/markers', async (request, reply) => {
    const id = idParam(request, 'id');
    const body = parseWith(AddMarker, request.body);
    const markerId = body.marker_id ?? newId();
    const envelopes = await run(request, id, { type: 'add_marker', marker_id: markerId, path: body.path, note: body.note });
    return sendCommandResult(reply, 201, envelopes, { workstream_id: id, marker_id: createdId(envelopes, 'marker_id', markerId) });
  });

  const clearMarker = async (request: FastifyRequest) => {
    const id = idParam(request, 'id');
    const markerId = idParam(request, 'marker');
    const body = parseWith(ClearMarker, request.body);
    return { id, markerId, envelopes: await run(request, id, { type: 'clear_marker', marker_id: markerId, reason: body?.reason }) };
  };
  app.post('/v1/workstreams/:id/markers/:marker/clear', async (request, reply) => {
    const { id, markerId, envelopes } = await clearMarker(request);
    return sendCommandResult(reply, 200, envelopes, { workstream_id: id, marker_id: markerId });
  });
  app.delete('/v1/workstreams/:id/markers/:marker', async (request, reply) => {
    const { id, markerId, envelopes } = await clearMarker(request);
    return sendCommandResult(reply, 200, envelopes, { workstream_id: id, marker_id: markerId });
  });
}
