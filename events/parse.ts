import type { z } from 'zod';
import { DomainEventSchema, type DomainEvent } from './catalogue.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string; field: string };

/** `data.members[2].name: must not be empty` — the field first, so a reader knows where to look. */
export function formatIssues(error: z.ZodError, prefix = ''): { message: string; field: string } {
  const messages = error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
      .filter(Boolean)
      .join('.')
      .replace(/\.\[/g, '[');
    const what = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return { field: path || '(body)', text: `${path || '(body)'}: ${what}` };
  });
  return { message: messages.map((m) => m.text).join('; '), field: messages[0]?.field ?? '(body)' };
}

/** Parses `{ type, data }` against the catalogue; the only way an event enters the system. */
export function parseEvent(input: unknown): ParseResult<DomainEvent> {
  const result = DomainEventSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data as DomainEvent };
  return { ok: false, ...formatIssues(result.error) };
}
