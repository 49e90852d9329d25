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
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        err: pino.stdSerializers.err,
        req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, url: stripSecrets(req.url), id: req.id }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

/** A URL as it may be logged: a `token` query parameter is cut out. */
export function stripSecrets(url: string | undefined): string | undefined {
  if (!url || !url.includes('token=')) return url;
  return url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
}
