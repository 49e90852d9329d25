import { Option, type Command } from 'commander';
import { BmoError } from '../errors.js';
import { ensureOk } from './connect.js';
import { table } from './format.js';
import { print, withConnection } from './shell.js';

const collect = (value: string, previous: string[]) => [...previous, value];

interface IssueOptions {
  name: string;
  role: string;
  member?: string;
  session?: string;
  team: string[];
  workstream: string[];
  expires?: string;
  json?: boolean;
}

/** `bmo token issue|list|revoke`: credentials for agents and observers, through POST/GET/DELETE /v1/credentials (admin token). */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('credentials: who acts (agents, observers); needs the admin token');

  token
    .command('issue')
    .description('issue a credential and print its token, once')
    .requiredOption('--name <name>', 'who it is for, as lists show it')
    .addOption(new Option('--role <role>', 'agent: one member and session in its teams; observer: reads only; admin: everything').choices(['agent', 'observer', 'admin']).default('agent'))
    .option('--member <id>', 'an agent: the member id it acts as')
    .option('--session <id>', 'an agent: the one session it acts as (default: the latest it starts)')
    .option('--team <id>', 'a team it acts in or reads (repeat; default: an agent the teams it creates or joins, an observer every team)', collect, [])
    .option('--workstream <id>', 'a workstream an agent may write besides those it creates (repeat)', collect, [])
    .option('--expires <duration>', 'lapses after 30m, 12h, 7d, … (default: never)')
    .option('--json', 'print JSON')
    .action(async (opts: IssueOptions) =>
      withConnection(program, async (connection) => {
        if (opts.role === 'agent' && !opts.member) throw new BmoError('bad_request', `--member: an agent acts as one member; name it (bmo token issue --name ${opts.name} --role agent --member <id>)`);
        if (opts.expires !== undefined && !/^[1-9]\d{0,5}[smhd]$/.test(opts.expires)) throw new BmoError('bad_request', `--expires: "${opts.expires}" is not a duration; say 30m, 12h or 7d`);
        if (opts.role !== 'agent' && (opts.member || opts.session)) throw new BmoError('bad_request', `--member and --session name an agent's member and session; an ${opts.role} has none`);
        const body = {
          name: opts.name,
          role: opts.role,
          member_id: opts.member,
          session_id: opts.session,
          teams: opts.team.length > 0 ? opts.team : '*',
          workstreams: opts.workstream,
          expires_in: opts.expires,
        };
        const issued = ensureOk(await connection.request('POST', '/v1/credentials', body));
        print(!!opts.json, issued, () =>
          [
            `issued ${issued.credential_id} "${issued.name}" (${describe(issued)})`,
            issued.token,
            `this token is shown once: give it to the ${issued.role} as BMO_TOKEN (or send Authorization: Bearer <token>); revoke it with bmo token revoke ${issued.credential_id}`,
          ].join('\n'),
        );
      }),
    );

  token
    .command('list')
    .description('every credential with its role, member, scope and state (never a secret)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) =>
      withConnection(program, async (connection) => {
        const credentials: any[] = [];
        for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
          const page = ensureOk(await connection.request('GET', `/v1/credentials?limit=1000${cursor ? `&cursor=${cursor}` : ''}`));
          credentials.push(...page.credentials);
          cursor = page.next_cursor;
        }
        print(!!opts.json, { credentials }, () =>
          credentials.length === 0
            ? 'no credentials (issue one with bmo token issue --name <who> --role agent --member <id>)'
            : table(
                ['ID', 'NAME', 'ROLE', 'MEMBER', 'SESSION', 'TEAMS', 'STATE', 'EXPIRES'],
                credentials.map((c) => [c.credential_id, c.name, c.role, c.member_id, c.session_id, teamsOf(c), c.state, c.expires_at]),
              ),
        );
      }),
    );

  token
    .command('revoke <id>')
    .description('revoke a credential: its next request is refused and its open streams close')
    .option('--reason <text>', 'why, for the log')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { reason?: string; json?: boolean }) =>
      withConnection(program, async (connection) => {
        const reply = await connection.request('DELETE', `/v1/credentials/${encodeURIComponent(id)}`, opts.reason ? { reason: opts.reason } : undefined);
        if (reply.status === 404) throw new BmoError('not_found', `no credential ${id}; bmo token list shows them`);
        const result = ensureOk(reply);
        print(!!opts.json, result, () => `revoked ${id} (recorded at pos ${result.pos})`);
      }),
    );
}

const teamsOf = (c: { scope: { teams: '*' | string[] } }) => (c.scope.teams === '*' ? '*' : c.scope.teams.join(','));

function describe(c: { role: string; member_id?: string; session_id?: string; scope: { teams: '*' | string[] }; expires_at?: string }): string {
  const parts = [c.role];
  if (c.member_id) parts.push(`member ${c.member_id}`);
  if (c.session_id) parts.push(`session ${c.session_id}`);
  parts.push(`teams ${teamsOf(c)}`);
  if (c.expires_at) parts.push(`expires ${c.expires_at}`);
  return parts.join(', ');
}
