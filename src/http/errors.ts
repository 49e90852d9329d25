import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BmoError, ERROR_CODES, isBmoError, type ErrorCode } from '../errors.js';

/** Fastify's own failures, told in our codes. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', message: 'the request body is over the limit ([server] body_limit in bmo.toml)' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', message: 'send the body as JSON (Content-Type: application/json)' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_body', message: 'the body is empty; send a JSON object' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_body' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'invalid_id', message: 'a path segment is too long to be an id (1-64 characters of a-z, 0-9 and "-")' },
  FST_ERR_BAD_URL: { code: 'bad_request', message: 'the URL is not valid (a bad %-escape?)' },
};

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  field?: string;
  details?: Record<string, unknown>;
}

export function errorBody(error: BmoError): ErrorBody {
  const body: ErrorBody = { error: error.code, message: error.message };
  if (error.field) body.field = error.field;
  if (error.details) body.details = error.details;
  return body;
}

/** The one mapping from an error to an HTTP answer: `{ error, message }` with the right status. */
export function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  let bmo: BmoError;
  if (isBmoError(error)) bmo = error;
  else if (error.code && FASTIFY_CODES[error.code]) {
    const known = FASTIFY_CODES[error.code];
    bmo = new BmoError(known.code, known.message ?? `the body is not valid JSON: ${error.message}`);
  } else if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    bmo = new BmoError('invalid_body', `the body is not valid JSON: ${error.message}`);
  } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    bmo = new BmoError('bad_request', error.message);
  } else {
    request.log.error({ err: error }, 'request failed');
    bmo = new BmoError('internal', 'bmo failed to answer this request; the server log has the details');
  }
  if (ERROR_CODES[bmo.code] >= 500 && isBmoError(error)) request.log.error({ err: error }, bmo.message);
  void reply.code(bmo.status).send(errorBody(bmo));
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(answerError);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}; see README.md for the HTTP surface` });
  });
}
