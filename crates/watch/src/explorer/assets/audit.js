// The personal audit, entirely in this page.
//
// The key never leaves the page: the page fetches every entry with the same requests
// for everyone (/api/entries from 0, a page at a time), computes the record's audit tags
// HMAC-SHA-256(key, "masque-audit/v1" || n as 8 bytes big-endian) here with WebCrypto,
// and looks them up in what it fetched. The key is imported as a non-extractable
// WebCrypto key, its bytes are zeroed after import, and it is never stored, logged or
// put in a URL, a request or the page.

import { el, utc, count, getJson } from './util.js';

/** Entries per /api/entries request (the server's cap). */
const PAGE = 1000;
const PREFIX = new TextEncoder().encode('masque-audit/v1');

const REFUSALS = {
  'no-consent': 'no consent for this service',
  'consent-expired': 'the consent for this service has expired',
  'consent-revoked': 'the consent for this service was revoked',
  'unknown-record': 'the record does not exist (never enrolled, or deleted)',
  'invalid-template': 'the capture is not a valid iris template',
  'low-coverage': 'too little of the iris is visible in the capture (capture again, eyes wide open)',
  'not-verified': 'a re-issuance needs a matching check first',
  'record-exists': 'this record key is already enrolled',
  'unknown-consent': 'this record has no such consent (or it was revoked)',
};

/** Why a request was refused, for a person (the CLI's words). */
export function refusal(reason) {
  if (reason == null) return 'no reason given';
  return REFUSALS[reason] || `refused (${reason})`;
}

/** The first 12 hex digits of a consent id. */
function short(id) {
  return typeof id === 'string' ? id.slice(0, 12) : '-';
}

function decision(outcome) {
  return outcome === 'match' ? 'match' : outcome === 'no-match' ? 'no match' : 'no decision';
}

/** One log entry in plain words, as `masque audit` says it, capitalised. */
export function explain(e) {
  const when = utc(e.hour);
  const service = e.service ?? 'an unnamed service';
  const consent = e.consent ? short(e.consent) : '-';
  let what;
  const key = `${e.op}/${e.outcome}`;
  if (key === 'enrol/enrolled') what = `enrolled at ${e.station ?? 'an unnamed station'}`;
  else if (key === 'enrol/duplicate') what = 'enrolment refused: already enrolled';
  else if (key === 'verify/match' || key === 'verify/no-match')
    what = e.service != null
      ? `checked for service ${e.service} under consent ${consent}: ${decision(e.outcome)}`
      : `checked by you (for no service): ${decision(e.outcome)}`;
  else if (key === 'verify/refused')
    what = e.service != null
      ? `check for service ${e.service} refused: ${refusal(e.reason)}`
      : `check refused: ${refusal(e.reason)}`;
  else if (key === 'delete/deleted') what = 'deleted';
  else if (key === 'consent-grant/granted') {
    const until = e.consent_not_after != null ? `, valid until ${utc(e.consent_not_after)}` : '';
    return capital(`consent ${consent} given to service ${service} on ${when}${until}`);
  } else if (key === 'consent-revoke/revoked') what = `consent ${consent} for service ${service} revoked`;
  else if ((e.op === 'issue' || e.op === 'reissue') && e.outcome === 'issued') what = 'credential issued';
  else if (e.outcome === 'refused') what = `${e.op} refused: ${refusal(e.reason)}`;
  else what = `${e.op}: ${e.outcome}`;
  return capital(`${what} on ${when}`);
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The keys in `text` (64 hex digits each, separated by spaces or commas) as bytes, or an
 * Error that says what is wrong without repeating the input.
 */
export function parseKeys(text) {
  const words = String(text || '').split(/[\s,]+/).filter((w) => w.length > 0);
  if (words.length === 0) {
    throw new Error('Paste an audit key first: 64 hexadecimal digits, as printed by `masque audit --export-key`.');
  }
  return words.map((word, i) => {
    const which = words.length === 1 ? 'This is not an audit key' : `Key ${i + 1} is not an audit key`;
    if (!/^[0-9a-fA-F]*$/.test(word)) {
      throw new Error(`${which}: it has characters other than the hexadecimal digits 0-9 and a-f. An audit key is 64 hexadecimal digits, as printed by \`masque audit --export-key\`.`);
    }
    if (word.length !== 64) {
      throw new Error(`${which}: it has ${word.length} digits instead of 64. Copy the whole key printed by \`masque audit --export-key\`.`);
    }
    const bytes = new Uint8Array(32);
    for (let j = 0; j < 32; j++) bytes[j] = parseInt(word.slice(2 * j, 2 * j + 2), 16);
    return bytes;
  });
}

/** What has been fetched so far (the log only grows): entries, and the next index. */
const fetched = { entries: [], next: 0 };

/** Fetches the entries not fetched yet, page by page; `progress(done, size)`. */
async function fetchAll(progress) {
  for (;;) {
    const page = await getJson(`/api/entries?from=${fetched.next}&limit=${PAGE}`);
    const entries = Array.isArray(page.entries) ? page.entries : [];
    for (const entry of entries) fetched.entries.push(entry);
    fetched.next += entries.length;
    progress(fetched.next, page.size);
    if (entries.length === 0 || fetched.next >= page.size) return fetched.entries;
  }
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The entries of one record: tag(n) for n = 0, 1, ... until a tag is not in `byTag`. */
async function findRecord(keyBytes, byTag) {
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  keyBytes.fill(0);
  const found = [];
  const message = new Uint8Array(PREFIX.length + 8);
  message.set(PREFIX);
  const view = new DataView(message.buffer);
  for (let n = 0; n <= byTag.size; n++) {
    view.setBigUint64(PREFIX.length, BigInt(n), false);
    const tag = hex(await crypto.subtle.sign('HMAC', key, message));
    const entries = byTag.get(tag);
    if (!entries) break;
    found.push(...entries);
  }
  return found;
}

/** Runs the audit for the keys in `text`, showing progress in `status` and the result in `results`. */
export async function runAudit(text, { status, results, error }) {
  error.hidden = true;
  error.textContent = '';
  results.replaceChildren();
  let keys;
  try {
    keys = parseKeys(text);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    status.dataset.state = 'error';
    status.textContent = 'The audit did not run: the key is malformed.';
    return;
  }
  text = null;
  if (!window.crypto || !window.crypto.subtle) {
    keys.forEach((k) => k.fill(0));
    error.textContent = 'This browser offers no WebCrypto on this page (a page served over plain http from a host other than localhost is not a secure context): open the explorer over https, or from localhost.';
    error.hidden = false;
    status.dataset.state = 'error';
    status.textContent = 'The audit did not run.';
    return;
  }
  status.dataset.state = 'working';
  status.textContent = 'Fetching the log…';
  try {
    const entries = await fetchAll((done, size) => {
      status.textContent = `Fetching the log: ${done.toLocaleString('en')} of ${count(size, 'entry', 'entries')}…`;
    });
    status.textContent = `Computing your audit tags over ${count(entries.length, 'entry', 'entries')}…`;
    const byTag = new Map();
    for (const view of entries) {
      const tag = view && view.entry && typeof view.entry.audit_tag === 'string' ? view.entry.audit_tag.toLowerCase() : null;
      if (!tag) continue;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(view);
    }
    let total = 0;
    for (let i = 0; i < keys.length; i++) {
      const found = await findRecord(keys[i], byTag);
      total += found.length;
      results.append(recordSection(i, keys.length, found));
    }
    status.textContent =
      `Done: ${count(total, 'entry', 'entries')} about your ${keys.length === 1 ? 'record' : `${keys.length} records`} ` +
      `among the ${count(entries.length, 'log entry', 'log entries')} verified by this watcher.`;
    status.dataset.state = 'done';
  } catch (e) {
    keys.forEach((k) => k.fill(0));
    error.textContent = `The audit failed: ${e.message}`;
    error.hidden = false;
    status.dataset.state = 'error';
    status.textContent = 'The audit did not finish.';
  }
}

function recordSection(i, of, found) {
  const title = of === 1 ? 'Your record' : `Record of key ${i + 1}`;
  const section = el('section', { class: 'record', 'aria-label': title }, el('h3', { text: title }));
  if (found.length === 0) {
    section.append(
      el('p', {
        text: 'No entry in the log carries this key\'s first audit tag: this key enrolled no record in this log, or the watcher has not reached that entry yet.',
      }),
    );
    return section;
  }
  const last = found[found.length - 1].entry;
  section.append(
    el('p', {
      text: `${count(found.length, 'entry', 'entries')} in the log about this record` +
        (last.outcome === 'deleted' ? '; it has been deleted.' : '.'),
    }),
    el(
      'ol',
      { class: 'audit-list' },
      found.map((view) =>
        el('li', { 'data-index': view.index }, el('span', { class: 'entry-no', text: `Entry ${view.index}: ` }), explain(view.entry)),
      ),
    ),
    el('p', {
      class: 'muted',
      text: 'An entry you do not recognise means your record was used without you: its entry number identifies it in the log for anyone you report it to.',
    }),
  );
  return section;
}
