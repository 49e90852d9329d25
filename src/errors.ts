/**
 * The one error catalogue: every failure a caller can see has a stable code, and the HTTP status
 * for each code lives here and nowhere else.
 */
export const ERROR_CODES = {
  bad_request: 400,
  invalid_body: 400,
  invalid_id: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  teams_disabled: 404,
  request_timeout: 408,
  conflict: 409,
  version_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  headers_too_large: 431,
  idempotency_mismatch: 422,
  rate_limited: 429,
  remote_failed: 502,
  remote_unauthorized: 502,
  remote_timeout: 504,
  store_unavailable: 503,
  store_locked: 503,
  store_read_only: 503,
  corrupt_log: 500,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class BmoError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; field?: string; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BmoError';
    this.code = code;
    this.field = options.field;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}

/** The stream moved on since the caller read it: `If-Match` or the store's own check. */
export class VersionConflictError extends BmoError {
  readonly stream: string;
  readonly expected: unknown;
  readonly actual: number;

  constructor(stream: string, expected: unknown, actual: number) {
    super('version_conflict', `${stream} is at version ${actual}, not ${String(expected)}; read it again and retry with If-Match: ${actual}`, {
      details: { stream, expected, actual },
    });
    this.name = 'VersionConflictError';
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A log line that is bad and is followed by good ones: corruption, not a crash. */
export class CorruptLogError extends BmoError {
  readonly file: string;
  readonly line: number;
  readonly reason: string;

  constructor(file: string, line: number, reason: string) {
    super('corrupt_log', `${file}:${line}: ${reason}; this is corruption, not a torn write: restore the file from a backup or move the bad line out by hand`, {
      details: { file, line },
    });
    this.name = 'CorruptLogError';
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

/** Another write with this Idempotency-Key is in the store already (another instance took it): the caller answers with that one. */
export class IdempotencyKeyTakenError extends BmoError {
  readonly key: string;

  constructor(key: string) {
    super('conflict', `Idempotency-Key "${key}" was taken by another write meanwhile; retry with the same key to get its answer`);
    this.name = 'IdempotencyKeyTakenError';
    this.key = key;
  }
}

export class StoreLockedError extends BmoError {
  /** Who holds it, as its LOCK says: `bmo serve`, or a CLI command such as `bmo workstream finding`. */
  readonly holder: string;

  constructor(dataDir: string, holder: string) {
    const what = holder.startsWith('bmo serve') ? `a server (${holder})` : holder.startsWith('bmo ') ? `a CLI command (${holder})` : holder;
    super('store_locked', `the data directory ${dataDir} is in use by ${what}; stop that bmo first, or point this one at another directory with --data-dir`);
    this.name = 'StoreLockedError';
    this.holder = holder;
  }
}

export function isBmoError(error: unknown): error is BmoError {
  return error instanceof BmoError;
}
