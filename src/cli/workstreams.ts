import type { Command } from 'commander';
import type { Connection } from './connect.js';
import { withConnection } from './shell.js';
import { registerEvidenceCommands } from './workstreams/evidence.js';
import { registerNaniteCommands } from './workstreams/nanite.js';
import { registerCartographyCommand, registerReadCommands } from './workstreams/read.js';
import { registerBindingCommands, registerCreateCommand, registerSetStatusCommand } from './workstreams/row.js';
import { registerVerifyRunCommand } from './workstreams/verify-run.js';

/** `bmo workstream …`, `bmo nanite close|run`, `bmo cartography`: each verb group in its own file, registered in the order help lists them. */
export function registerWorkstreamCommands(program: Command): void {
  const connected = (run: (connection: Connection) => Promise<void>) => withConnection(program, run);
  const workstream = program
    .command('workstream')
    .description('workstreams: the durable row of a unit of work, its plan, verify runs, nanites, findings, artifacts, markers and handoff')
    // verify-run passes everything after the command name to the command (`pnpm --dir docs run build`).
    .enablePositionalOptions();
  registerCreateCommand(workstream, connected);
  registerReadCommands(workstream, connected);
  registerBindingCommands(workstream, connected);
  registerVerifyRunCommand(program, workstream, connected);
  registerEvidenceCommands(program, workstream);
  registerSetStatusCommand(workstream, connected);
  const nanite = program.command('nanite').description('nanites: bounded side-lane runs of a configured agent CLI');
  registerNaniteCommands(program, nanite, connected);
  registerCartographyCommand(program, connected);
}
