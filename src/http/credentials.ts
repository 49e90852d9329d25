import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { presentCredential } from '../../projections/credentials.js';
import { credentialEntity, CREDENTIALS_STREAM_ID } from '../domain/credentials.js';
import { BmoError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { principalOf } from './access.js';
import { credentialToken, hashSecret, newSecret } from './auth.js';
import { commandContext, idParam, parseWith } from './request.js';
import { page } from './paging.js';
import { IssueCredential, ListCredentials, RevokeCredential } from './schemas.js';

/** `POST/GET/DELETE /v1/credentials`: issuing (the token is shown once), listing (never a secret) and revoking, admin only (access.ts); `GET /v1/whoami` for every credential. */
export async function credentialRoutes(app: FastifyInstance, { pipeline }: { pipeline: Pipeline }): Promise<void> {
  const credentials = () => pipeline.readModels.credentials.credentials;

  app.post('/v1/credentials', async (request, reply) => {
    const body = parseWith(IssueCredential, request.body);
    const context = commandContext(request);
    if (context.idempotencyKey !== undefined) {
      throw new BmoError('bad_request', 'Idempotency-Key: a token is shown only once, so issuing one is not retried; list with GET /v1/credentials and revoke one that was lost', { field: 'Idempotency-Key' });
    }
    const secret = newSecret();
    const credentialId = randomBytes(6).toString('hex');
    const expiresAt = body.expires_in === undefined ? undefined : new Date(pipeline.now().getTime() + body.expires_in).toISOString();
    const credential = {
      credential_id: credentialId,
      name: body.name,
      role: body.role,
      member_id: body.member_id,
      session_id: body.session_id,
      scope: { teams: body.teams, workstreams: body.workstreams },
      secret_hash: hashSecret(secret),
      expires_at: expiresAt,
    };
    const [event] = await pipeline.execute(credentialEntity, CREDENTIALS_STREAM_ID, { type: 'issue_credential', credential }, context);
    const issued = credentials().get(credentialId)!;
    return reply.code(201).send({ ...presentCredential(issued, pipeline.now()), token: credentialToken(credentialId, secret), version: event.seq, pos: event.pos });
  });

  app.get('/v1/credentials', async (request, reply) => {
    const query = parseWith(ListCredentials, request.query, 'query');
    const all = [...credentials().values()].sort((a, b) => a.issued_pos - b.issued_pos);
    const { items, next_cursor } = page(request, reply, all, (c) => [c.issued_pos], query);
    const now = pipeline.now();
    return { pos: pipeline.readModels.pos, credentials: items.map((c) => presentCredential(c, now)), next_cursor };
  });

  // Any credential may ask who it is: an agent (bmo mcp) takes its member and session from here.
  app.get('/v1/whoami', async (request) => ({ ...principalOf(request) }));

  app.get('/v1/credentials/:id', async (request) => {
    const id = idParam(request, 'id');
    const credential = credentials().get(id);
    if (!credential) throw new BmoError('not_found', `no credential ${id}; GET /v1/credentials lists them`, { field: 'id' });
    return presentCredential(credential, pipeline.now());
  });

  app.delete('/v1/credentials/:id', async (request) => {
    const id = idParam(request, 'id');
    const body = parseWith(RevokeCredential, request.body);
    const [event] = await pipeline.execute(credentialEntity, CREDENTIALS_STREAM_ID, { type: 'revoke_credential', credential_id: id, reason: body?.reason ?? 'revoked' }, commandContext(request));
    return { credential_id: id, revoked: true, version: event.seq, pos: event.pos };
  });
}
