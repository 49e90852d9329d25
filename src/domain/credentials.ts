import type { DomainEvent, EventDataOf } from '../../events/index.js';
import type { CredentialView } from '../../projections/credentials.js';
import { BmoError } from '../errors.js';
import type { Entity } from './entity.js';

/** The one stream of credentials: `system/credentials`. */
export const CREDENTIALS_STREAM_ID = 'credentials';

export type CredentialCommand =
  | { type: 'issue_credential'; credential: EventDataOf<'credential_issued'> }
  | { type: 'revoke_credential'; credential_id: string; reason: string };

/** Every credential in the stream, by id: the decider's state. */
export type CredentialsWriteModel = Map<string, Pick<CredentialView, 'credential_id' | 'revoked_at'>>;

export function decideCredential(command: CredentialCommand, state: CredentialsWriteModel | undefined): DomainEvent[] {
  switch (command.type) {
    case 'issue_credential': {
      const { credential } = command;
      if (state?.has(credential.credential_id)) throw new BmoError('conflict', `credential ${credential.credential_id} exists already`, { field: 'credential_id' });
      if (credential.role === 'agent' && credential.member_id === undefined) throw new BmoError('invalid_body', 'member_id: an agent acts as one member; name it', { field: 'member_id' });
      if (credential.role !== 'agent' && (credential.member_id !== undefined || credential.session_id !== undefined)) {
        throw new BmoError('invalid_body', `member_id: only an agent acts as a member; an ${credential.role} credential names none`, { field: 'member_id' });
      }
      return [{ type: 'credential_issued', data: credential }];
    }
    case 'revoke_credential': {
      const known = state?.get(command.credential_id);
      if (!known) throw new BmoError('not_found', `no credential ${command.credential_id}; GET /v1/credentials lists them`, { field: 'id' });
      if (known.revoked_at !== undefined) throw new BmoError('conflict', `credential ${command.credential_id} was revoked already at ${known.revoked_at}`, { field: 'id' });
      return [{ type: 'credential_revoked', data: { credential_id: command.credential_id, reason: command.reason } }];
    }
    default:
      return command satisfies never;
  }
}

export const credentialEntity: Entity<CredentialsWriteModel, CredentialCommand> = {
  kind: 'system',
  evolve(state, event) {
    const model = state ?? new Map();
    if (event.type === 'credential_issued') model.set(event.data.credential_id, { credential_id: event.data.credential_id });
    else if (event.type === 'credential_revoked') {
      const known = model.get(event.data.credential_id);
      if (known) known.revoked_at = event.at;
    }
    return model;
  },
  decide: (command, state) => decideCredential(command, state),
};
