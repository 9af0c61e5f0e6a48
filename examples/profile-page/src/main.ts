// The profile page: sign in with a bearer token, show `me` as a form where each field the policy
// refuses is disabled with its reason, and save the changed fields with `updateUser`.
// As a reference client it also shows how to meet the gateway's refusals: RATE_LIMITED (wait for
// Retry-After, say so, try again), VERSION_CONFLICT (reload, show what changed, keep the user's
// other edits) and a refused or expired token (sign out, saying why). Every request carries an
// x-request-id (api.ts), shown with unexpected errors so a user can quote it.
import { execute, type GraphQLError, type GraphQLResult, NetworkError } from './api.js';
import { attributeAt, attributeChanges, type AttributeSpec, attributeSpecs, initialAttributeValue } from './attributes.js';
import type { UpdateUserInput } from './gql/graphql.js';
import { MeQuery, UpdateProfileMutation } from './operations.js';
import {
  collectChanges,
  FIELDS,
  type FieldSpec,
  type FormKey,
  initialValue,
  placeUserErrors,
  policyFor,
  type Profile,
  REASON_LABELS,
} from './profile.js';
import {
  changedFields,
  isUnauthenticated,
  MAX_RATE_LIMIT_RETRIES,
  rateLimitWait,
  shown,
  signedOutReason,
} from './session.js';

const TOKEN_KEY = 'profile-page:token';

function $<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

const ui = {
  banner: $<HTMLDivElement>('banner'),
  notice: $<HTMLDivElement>('notice'),
  who: $<HTMLSpanElement>('who'),
  signOut: $<HTMLButtonElement>('sign-out'),
  signIn: $<HTMLElement>('sign-in'),
  signInForm: $<HTMLFormElement>('sign-in-form'),
  token: $<HTMLTextAreaElement>('token'),
  profile: $<HTMLDivElement>('profile'),
  form: $<HTMLFormElement>('profile-form'),
  fields: $<HTMLDivElement>('fields'),
  save: $<HTMLButtonElement>('save'),
  status: $<HTMLSpanElement>('status'),
  account: $<HTMLDListElement>('account'),
  organizations: $<HTMLUListElement>('organizations'),
};

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let current: Profile | null = null;
const inputs = new Map<FormKey, HTMLInputElement | HTMLTextAreaElement>();
const errorSlots = new Map<FormKey, HTMLElement>();
/** The declared attributes shown, with their inputs and error slots (by the spec's id). */
let attributes: AttributeSpec[] = [];
const attributeInputs = new Map<string, HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>();
const attributeErrors = new Map<string, HTMLElement>();

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = Object.assign(document.createElement(tag), props);
  element.append(...children);
  return element;
}

/** Errors; with the request's id when the gateway could not say more than an error. */
function showBanner(messages: string[], requestId?: string): void {
  const lines = messages.map((m) => el('p', { textContent: m }));
  if (requestId && messages.length > 0) {
    lines.push(el('p', { className: 'request-id' }, 'Request id: ', el('code', { textContent: requestId })));
  }
  ui.banner.replaceChildren(...lines);
  ui.banner.hidden = messages.length === 0;
}

/** Information that is not an error (waiting out a rate limit, a reload after a conflict). */
function showNotice(message: string | null): void {
  ui.notice.textContent = message ?? '';
  ui.notice.hidden = message === null;
}

function showSignedOut(message?: string): void {
  current = null;
  ui.profile.hidden = true;
  ui.signIn.hidden = false;
  ui.signOut.hidden = true;
  ui.who.textContent = '';
  showNotice(null);
  showBanner(message ? [message] : []);
}

function signOut(message?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  showSignedOut(message);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Counts down in the notice, then resolves: the gateway said when the budget refills. */
async function waitOut(seconds: number, attempt: number): Promise<void> {
  for (let left = seconds; left > 0; left--) {
    showNotice(
      `Too many requests: the gateway asked to wait ${seconds} s (rate limited). Trying again in ${left} s…` +
        (attempt > 1 ? ` (attempt ${attempt} of ${MAX_RATE_LIMIT_RETRIES})` : ''),
    );
    await sleep(1000);
  }
  showNotice('Trying again…');
}

/**
 * Sends an operation and meets the refusals every operation may get: RATE_LIMITED is retried after
 * Retry-After (refused before it ran, so a mutation is safe to send again), UNAUTHENTICATED signs
 * out. Null when the page signed out; otherwise the result to handle.
 */
async function send<T>(operation: (token: string) => Promise<GraphQLResult<T>>): Promise<GraphQLResult<T> | null> {
  for (let attempt = 1; ; attempt++) {
    if (!token) return null;
    const sentWith = token;
    const result = await operation(sentWith);
    const wait = rateLimitWait(result);
    if (wait !== null && attempt <= MAX_RATE_LIMIT_RETRIES) {
      await waitOut(wait, attempt);
      continue;
    }
    showNotice(null);
    if (isUnauthenticated(result)) {
      signOut(signedOutReason(sentWith, result));
      return null;
    }
    return result;
  }
}

/** The reason beside a refused input: the reason's short words, then the gateway's sentence for this caller. */
function reasonLine(id: string, reason: keyof typeof REASON_LABELS | null, message: string | null): HTMLElement {
  const line = el('p', { id, className: 'reason' }, el('strong', { textContent: reason ? REASON_LABELS[reason] : 'Not editable' }), message ? `: ${message}` : '');
  if (reason) line.dataset.reason = reason;
  return line;
}

/** One declared attribute: a control suited to its schema, disabled with the reason when the policy refuses it. */
function attributeRow(spec: AttributeSpec, profile: Profile): HTMLElement {
  const value = initialAttributeValue(profile, spec);
  let input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  if (spec.control === 'select') {
    input = el(
      'select',
      {},
      el('option', { value: '', textContent: '(not set)' }),
      ...spec.choices.map((choice, i) =>
        el('option', { value: String(i), textContent: typeof choice === 'boolean' ? (choice ? 'yes' : 'no') : typeof choice === 'string' ? choice : JSON.stringify(choice) }),
      ),
    );
  } else if (spec.control === 'json') {
    input = el('textarea', { rows: 3, spellcheck: false });
  } else {
    input = el('input', { type: 'text', autocomplete: 'off', inputMode: spec.control === 'text' ? 'text' : 'decimal' });
  }
  Object.assign(input, { id: spec.id, name: spec.id, value, disabled: !spec.editable });
  attributeInputs.set(spec.id, input);

  const describedBy: string[] = [];
  const row = el('div', { className: `field${spec.editable ? '' : ' locked'}` }, el('label', { htmlFor: spec.id, textContent: spec.label }), input);
  row.dataset.attribute = `${spec.in}:${spec.key}`;
  if (!spec.editable) {
    row.append(reasonLine(`${spec.id}-reason`, spec.reason, spec.message));
    describedBy.push(`${spec.id}-reason`);
  } else if (spec.hint) {
    row.append(el('p', { id: `${spec.id}-hint`, className: 'hint', textContent: spec.hint }));
    describedBy.push(`${spec.id}-hint`);
  }
  const error = el('p', { id: `${spec.id}-error`, className: 'error', hidden: true });
  row.append(error);
  attributeErrors.set(spec.id, error);
  describedBy.push(error.id);
  input.setAttribute('aria-describedby', describedBy.join(' '));
  return row;
}

function fieldRow(spec: FieldSpec, profile: Profile): HTMLElement {
  const id = `field-${spec.key}`;
  const policy = policyFor(profile, spec.field);
  const editable = policy?.editable ?? false;
  const input =
    spec.type === 'json'
      ? el('textarea', { rows: 6, spellcheck: false })
      : el('input', { type: spec.type, autocomplete: 'off' });
  Object.assign(input, { id, name: spec.key, value: initialValue(profile, spec.key), disabled: !editable });
  inputs.set(spec.key, input);

  const describedBy: string[] = [];
  const row = el('div', { className: `field${editable ? '' : ' locked'}` }, el('label', { htmlFor: id, textContent: spec.label }), input);
  row.dataset.field = spec.key;
  if (!editable && policy) {
    row.append(reasonLine(`${id}-reason`, policy.reason, policy.message));
    describedBy.push(`${id}-reason`);
  } else if (spec.hint) {
    row.append(el('p', { id: `${id}-hint`, className: 'hint', textContent: spec.hint }));
    describedBy.push(`${id}-hint`);
  }
  const error = el('p', { id: `${id}-error`, className: 'error', hidden: true });
  row.append(error);
  errorSlots.set(spec.key, error);
  describedBy.push(error.id);
  input.setAttribute('aria-describedby', describedBy.join(' '));
  return row;
}

function showFieldErrors(byField: Map<FormKey, string[]>, byAttribute = new Map<string, string[]>()): void {
  for (const [key, slot] of errorSlots) {
    const messages = byField.get(key) ?? [];
    slot.textContent = messages.join(' ');
    slot.hidden = messages.length === 0;
    inputs.get(key)?.setAttribute('aria-invalid', String(messages.length > 0));
  }
  for (const [id, slot] of attributeErrors) {
    const messages = byAttribute.get(id) ?? [];
    slot.textContent = messages.join(' ');
    slot.hidden = messages.length === 0;
    attributeInputs.get(id)?.setAttribute('aria-invalid', String(messages.length > 0));
  }
}

/** userErrors beside their inputs: `["userMetadata", key]` of a shown attribute goes beside it. */
function placeErrors(errors: readonly { field: string[] | null; code: string; message: string }[]) {
  const byAttribute = new Map<string, string[]>();
  const rest = errors.filter((error) => {
    const spec = attributeAt(attributes, error.field?.[0], error.field?.[1]);
    if (!spec) return true;
    byAttribute.set(spec.id, [...(byAttribute.get(spec.id) ?? []), error.message]);
    return false;
  });
  return { ...placeUserErrors(rest), byAttribute };
}

function renderProfile(profile: Profile): void {
  current = profile;
  inputs.clear();
  errorSlots.clear();
  attributeInputs.clear();
  attributeErrors.clear();
  attributes = attributeSpecs(profile);
  const rows = FIELDS.map((spec) => fieldRow(spec, profile));
  if (attributes.length > 0) {
    // The connection's declared attributes, after the root attributes, before the free-form metadata.
    const group = el(
      'fieldset',
      { id: 'attributes', className: 'attributes' },
      el('legend', { textContent: 'Profile attributes' }),
      ...attributes.map((spec) => attributeRow(spec, profile)),
    );
    rows.splice(rows.length - 1, 0, group);
  }
  ui.fields.replaceChildren(...rows);

  const account: [string, string][] = [
    ['User id', profile.id],
    ['Signed in with', `${profile.connection.name} (${profile.connection.kind.toLowerCase()})`],
    ['Email verified', profile.emailVerified ? 'yes' : 'no'],
  ];
  if (profile.connection.syncUserRootAttributes) {
    account.push(['Profile sync', profile.connection.syncUserRootAttributes.toLowerCase().replaceAll('_', ' ')]);
  }
  ui.account.replaceChildren(...account.flatMap(([term, value]) => [el('dt', { textContent: term }), el('dd', { textContent: value })]));

  ui.organizations.replaceChildren(
    ...(profile.organizations.length === 0
      ? [el('li', { className: 'empty', textContent: 'No organizations.' })]
      : profile.organizations.map((m) =>
          el(
            'li',
            {},
            el('strong', { textContent: m.organization.displayName ?? m.organization.name }),
            el('span', { className: 'roles', textContent: m.roles.join(', ').toLowerCase() }),
            el('span', { className: 'joined', textContent: `since ${new Date(m.joinedAt).toLocaleDateString()}` }),
          ),
        )),
  );

  ui.who.textContent = profile.email ?? profile.name ?? profile.id;
  ui.signIn.hidden = true;
  ui.signOut.hidden = false;
  ui.profile.hidden = false;
}

/** The banner's sentences for top-level errors; FIELD_NOT_EDITABLE also marks the refused inputs. */
function topLevelErrors(errors: GraphQLError[]): string[] {
  const byField = new Map<FormKey, string[]>();
  const byAttribute = new Map<string, string[]>();
  const messages = errors.map((error) => {
    // FIELD_NOT_EDITABLE names each refused field as fieldPolicies does (a ProfileField), and a
    // refused attribute by its object and key.
    for (const refused of error.extensions?.fields ?? []) {
      const spec = attributeAt(attributes, refused.field, refused.key);
      if (spec) {
        byAttribute.set(spec.id, ['You may not change this attribute.']);
        continue;
      }
      const key = FIELDS.find((f) => f.field === refused.field)?.key;
      if (key) byField.set(key, ['You may not change this field.']);
    }
    return error.message;
  });
  if (byField.size > 0 || byAttribute.size > 0) showFieldErrors(byField, byAttribute);
  return messages;
}

async function load(): Promise<void> {
  if (!token) return showSignedOut();
  const result = await send((t) => execute(MeQuery, t));
  if (!result) return;
  if (result.errors.length > 0) return showBanner(result.errors.map((e) => e.message), result.requestId);
  const me = result.data?.me;
  if (!me) {
    return showSignedOut('This token is valid but its subject (sub) is not a user of the gateway: a machine client has no profile.');
  }
  showBanner([]);
  renderProfile(me);
}

/** The enabled inputs' values, as the user left them. */
function formValues(): Map<FormKey, string> {
  const values = new Map<FormKey, string>();
  for (const [key, input] of inputs) if (!input.disabled) values.set(key, input.value);
  return values;
}

/** The enabled attribute inputs' values, by input id. */
function attributeValues(): Map<string, string> {
  const values = new Map<string, string>();
  for (const [id, input] of attributeInputs) if (!input.disabled) values.set(id, input.value);
  return values;
}

/**
 * VERSION_CONFLICT: someone else saved first. Reload, say what they changed, and keep the user's
 * edits of the fields they did not touch, so saving again applies the user's edits on the new version.
 */
async function reloadAfterConflict(before: Profile, edits: Map<FormKey, string>, attributeEdits: Map<string, string>): Promise<void> {
  const result = await send((t) => execute(MeQuery, t));
  if (!result) return;
  const fresh = result.data?.me;
  if (!fresh) return showBanner(result.errors.map((e) => e.message), result.requestId);
  const changes = changedFields(before, fresh);
  renderProfile(fresh);
  const changedKeys = new Set(changes.map((c) => c.key));
  for (const [key, value] of edits) {
    const input = inputs.get(key);
    if (input && !input.disabled && !changedKeys.has(key) && value !== initialValue(before, key)) input.value = value;
  }
  for (const change of changes) ui.fields.querySelector(`[data-field="${change.key}"]`)?.classList.add('changed');
  const beforeSpecs = new Map(attributeSpecs(before).map((spec) => [spec.id, spec]));
  for (const spec of attributes) {
    const old = beforeSpecs.get(spec.id);
    const input = attributeInputs.get(spec.id);
    const edit = attributeEdits.get(spec.id);
    if (!old || !input || input.disabled || edit === undefined) continue;
    if (initialAttributeValue(before, old) !== initialAttributeValue(fresh, spec)) {
      ui.fields.querySelector(`[data-attribute="${spec.in}:${spec.key}"]`)?.classList.add('changed');
    } else if (edit !== initialAttributeValue(before, old)) {
      input.value = edit;
    }
  }
  const what =
    changes.length === 0
      ? 'None of the fields on this page changed.'
      : `Changed: ${changes.map((c) => `${c.label} from ${shown(c.before)} to ${shown(c.after)}`).join('; ')}.`;
  showBanner([
    `Not saved: your profile was changed elsewhere while you were editing it (version ${before.version} → ${fresh.version}). ` +
      `The page now shows the current version. ${what} Your other edits are kept: check them and save again.`,
  ]);
}

async function save(): Promise<void> {
  if (!current || !token) return;
  const before = current;
  const values = formValues();
  const attributeEdits = attributeValues();
  const { input: rootInput, problems } = collectChanges(before, values);
  const declared = attributeChanges(before, attributes, attributeEdits);
  // One userMetadata patch: the editor's undeclared keys and the attribute fields' declared ones.
  const input: UpdateUserInput = { ...rootInput };
  const userMetadata = { ...(rootInput.userMetadata ?? {}), ...declared.patches.userMetadata };
  if (Object.keys(userMetadata).length > 0) input.userMetadata = userMetadata;
  if (declared.patches.appMetadata) input.appMetadata = declared.patches.appMetadata;
  showBanner([]);
  showFieldErrors(
    new Map([...problems].map(([key, message]) => [key, [message]])),
    new Map([...declared.problems].map(([id, message]) => [id, [message]])),
  );
  if (problems.size > 0 || declared.problems.size > 0) {
    ui.status.textContent = 'Fix the marked fields.';
    return;
  }
  if (Object.keys(input).length === 0) {
    ui.status.textContent = 'Nothing to save.';
    return;
  }
  ui.save.disabled = true;
  ui.status.textContent = 'Saving…';
  try {
    const result = await send((t) =>
      execute(UpdateProfileMutation, t, { id: before.id, input: { ...input, expectedVersion: before.version } }),
    );
    if (!result) return;
    if (result.errors.length > 0) {
      ui.status.textContent = 'Not saved.';
      const fieldNotEditable = result.errors.every((e) => e.extensions?.code === 'FIELD_NOT_EDITABLE');
      showBanner(topLevelErrors(result.errors), fieldNotEditable ? undefined : result.requestId);
      return;
    }
    const payload = result.data?.updateUser;
    if (!payload) {
      ui.status.textContent = 'Not saved.';
      return;
    }
    if (payload.userErrors.some((e) => e.code === 'VERSION_CONFLICT')) {
      ui.status.textContent = 'Not saved.';
      await reloadAfterConflict(before, values, attributeEdits);
      return;
    }
    const { byField, byAttribute, general } = placeErrors(payload.userErrors);
    if (payload.userErrors.length > 0 || !payload.user) {
      ui.status.textContent = 'Not saved.';
      showFieldErrors(byField, byAttribute);
      showBanner(general);
      return;
    }
    renderProfile(payload.user);
    ui.status.textContent = 'Saved.';
  } finally {
    ui.save.disabled = false;
  }
}

function report(err: unknown): void {
  ui.status.textContent = '';
  showBanner([err instanceof NetworkError ? err.message : `Something went wrong: ${String(err)}`]);
}

ui.signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = ui.token.value.trim().replace(/^Bearer\s+/i, '');
  if (!value) return;
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
  ui.token.value = '';
  load().catch(report);
});

ui.signOut.addEventListener('click', () => signOut());

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  save().catch(report);
});

load().catch(report);
