import pino, { type DestinationStream, type Logger } from 'pino';

/** Never logged: credentials wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'config.server.token',
  'config.options.teams.token',
];

const CENSOR = '[redacted]';

/**
 * A child for lines logged on every request (`request`, `teams.fired`, `teams.action`), whose
 * records are built field by field from ids' hashes, numbers and enums: it keeps the redaction of
 * the named paths but not of `*.token`, a wildcard that makes pino run its redactor on every
 * field of every line (about half of such a line's cost).
 */
export function perRequestChild(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child(bindings, { redact: { paths: REDACT_PATHS.filter((path) => !path.startsWith('*')), censor: CENSOR } });
}

const LEVEL_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * A request's logger (fastify's `request.log`), made when first used: fastify makes one for every
 * request, and pino runs its `reqId` binding through the `*.token` wildcard redactor (a clone and a
 * walk of every path) for a logger that only an error or a warning ever writes with. What it
 * writes, when it does, is the same: the child is made then, of the same parent, bindings and options.
 */
export function lazyChild(parent: Logger, bindings: pino.Bindings, options: pino.ChildLoggerOptions): Logger {
  return new LazyChild(parent, bindings, options) as unknown as Logger;
}

class LazyChild {
  private made: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly childBindings: pino.Bindings,
    private readonly options: pino.ChildLoggerOptions,
  ) {}

  logger(): Logger {
    return (this.made ??= this.parent.child(this.childBindings, this.options));
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return this.logger().child(bindings, options);
  }

  bindings(): pino.Bindings {
    return this.logger().bindings();
  }

  flush(callback?: (error?: Error) => void): void {
    this.logger().flush(callback);
  }
}

for (const method of LEVEL_METHODS) {
  Object.defineProperty(LazyChild.prototype, method, {
    value(this: LazyChild, ...args: unknown[]) {
      const logger = this.logger();
      return (logger[method] as (...a: unknown[]) => void).apply(logger, args);
    },
  });
}

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
}

/** The one root logger; everything else takes a child of it with its own bindings. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.BMO_LOG_LEVEL ?? 'info',
      base: { service: 'bmo' },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      serializers: {
        err: pino.stdSerializers.err,
        req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, url: stripSecrets(req.url), id: req.id }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    options.destination ?? logDestination(2),
  );
}

/** What logDestination gives: pino's stream, and how to write out what it holds. */
export type LogDestination = DestinationStream & { flush(callback?: (error?: Error) => void): void; flushSync(): void; end(): void };

/** Lines are handed on once this many characters are gathered, or every FLUSH_MS. */
const BATCH_CHARS = 4096;
const FLUSH_MS = 100;

/**
 * Where `bmo serve` writes its log (stderr by default): asynchronous, lines gathered up to 4 KB per
 * write (at most 100 ms), which costs the event loop one write for a dozen lines rather than one
 * each. Nothing is dropped (no maxLength): the buffer grows rather than lose a line, and what is
 * left is written when the process exits.
 *
 * The lines are gathered here, as strings, and each batch goes to sonic-boom as one buffer:
 * sonic-boom gathering them itself measured the string it appends to (up to 16 KB) on every line,
 * which flattened it into a new copy each time (a third of the bytes a request allocated), and one
 * buffer a line costs a slice of a pool and a copy each.
 */
export function logDestination(dest: number | string): LogDestination {
  return new LineBatch(pino.destination({ dest, sync: false, contentMode: 'buffer' }));
}

class LineBatch implements LogDestination {
  private lines: string[] = [];
  private chars = 0;
  private ended = false;
  private ready = false;
  private readonly timer: NodeJS.Timeout;
  /** pino's own exit hook writes out what sonic-boom holds; this one hands it what is gathered here too (once the file is open, as pino's). */
  private readonly onExit = () => {
    if (this.ready) this.flushSync();
  };

  constructor(private readonly stream: ReturnType<typeof pino.destination>) {
    this.timer = setInterval(() => this.handOn(), FLUSH_MS).unref();
    stream.once('ready', () => (this.ready = true));
    process.on('exit', this.onExit);
  }

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    // After end(), handed on at once: sonic-boom refuses it, as it would refuse a line of its own.
    if (this.chars >= BATCH_CHARS || this.ended) this.handOn();
  }

  flush(callback?: (error?: Error) => void): void {
    this.handOn();
    this.stream.flush(callback);
  }

  flushSync(): void {
    this.handOn();
    this.stream.flushSync();
  }

  end(): void {
    this.handOn();
    this.ended = true;
    clearInterval(this.timer);
    process.off('exit', this.onExit);
    this.stream.end();
  }

  private handOn(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.stream.write(Buffer.from(batch) as unknown as string);
  }
}

/** A URL as it may be logged: a `token` query parameter is cut out. */
export function stripSecrets(url: string | undefined): string | undefined {
  if (!url || !url.includes('token=')) return url;
  return url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
}
