// Trusted documents (persisted operations): the manifest graphql-codegen's client preset writes
// (`persistedDocuments`), `{ "<sha256 hex>": "<document>" }` (its keys may carry a `sha256:`
// prefix). With TRUSTED_DOCUMENTS set, callers without read:users or update:users may only run
// these documents, sent as `{ "documentId": "sha256:<hex>", "variables": … }`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Caller } from '../domain/access.js';

export class TrustedDocumentsError extends Error {}

export type TrustedDocuments = ReadonlyMap<string, string>;

export function loadTrustedDocuments(path: string): TrustedDocuments {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TrustedDocumentsError(`TRUSTED_DOCUMENTS: cannot read ${path} as JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TrustedDocumentsError('TRUSTED_DOCUMENTS: the manifest must be a JSON object of "<sha256 hex>": "<document>".');
  }
  const documents = new Map<string, string>();
  for (const [key, document] of Object.entries(parsed)) {
    const hex = key.replace(/^sha256:/, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex) || typeof document !== 'string') {
      throw new TrustedDocumentsError(`TRUSTED_DOCUMENTS: entry ${key} is not "<sha256 hex>": "<document>".`);
    }
    // A key that is not its document's hash is a manifest from another build, or an edited one.
    if (createHash('sha256').update(document).digest('hex') !== hex) {
      throw new TrustedDocumentsError(`TRUSTED_DOCUMENTS: entry ${key} is not the sha256 of its document.`);
    }
    documents.set(hex, document);
  }
  return documents;
}

/** `sha256:<hex>` (or the bare hex) → the hex, or null when it is neither. */
export function documentHash(documentId: string): string | null {
  const hex = documentId.replace(/^sha256:/, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

/** Tenant administrators (read:users or update:users) may still send any document. */
export const mayRunAnyDocument = (caller: Caller | null): boolean =>
  !!caller && (caller.scopes.has('read:users') || caller.scopes.has('update:users'));
