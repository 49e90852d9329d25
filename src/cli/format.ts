/** Plain aligned columns for terminals; `--json` bypasses all of this. */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === undefined ? '-' : String(cell))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

export function section(title: string, body: string): string {
  return `${title}\n${body
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')}`;
}

/** One event as a line: `pos  at  stream#seq  type`, then its outcome and, from a remote teams server, `@host`. */
export function eventLine(event: { pos: number; at: string; stream: string; seq: number; type: string; outcome?: string; remote?: string; data?: unknown }): string {
  const tail = [event.outcome, event.remote && `@${event.remote}`].filter(Boolean).join('  ');
  // A lease renewed is a task_claimed of the same claim: said so, not read as a new claim.
  const renewal = (event.data as { renewal?: boolean } | undefined)?.renewal ? ' (renewal)' : '';
  return `${String(event.pos).padStart(8)}  ${event.at}  ${event.stream}#${event.seq}  ${event.type}${renewal}${tail ? `  ${tail}` : ''}`;
}
