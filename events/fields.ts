import { z } from 'zod';

/** Entity and member ids: they become path segments, so nothing else is accepted. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const Id = z
  .string()
  .regex(ID_PATTERN, 'must be 1-64 characters of a-z, 0-9 and "-", starting with a letter or digit');

/** Bounded free text; `max` keeps a single line of the log small. */
export const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

export const nonEmptyText = (max: number) => text(max).refine((s) => s.trim().length > 0, 'must not be empty');

/** A workspace path or URL as a user typed it; never used as a path on the server. */
export const PathRef = nonEmptyText(1024);

export const Timestamp = z.iso.datetime({ offset: true });

export const Millis = z.number().int().nonnegative();
