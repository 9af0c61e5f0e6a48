// Ids of the domain's own shape: `auth0|…` users, `con_…` connections, `org_…` organizations.
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 248 = 4 * 62: rejection-free enough and unbiased (bytes >= 248 are redrawn).
  for (let i = 0; out.length < length; i++) {
    const b = i < bytes.length ? (bytes[i] as number) : (randomBytes(1)[0] as number);
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

export const newConnectionId = () => `con_${randomToken(16)}`;
export const newOrganizationId = () => `org_${randomToken(16)}`;
/** The part after `auth0|`: 24 hex digits, like Auth0's own database users. */
export const newDatabaseUserKey = () => randomBytes(12).toString('hex');
export const newInvitationId = () => `inv_${randomToken(16)}`;
export const newTicketId = () => `tkt_${randomToken(16)}`;
