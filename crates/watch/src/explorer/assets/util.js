// Small helpers shared by the explorer's scripts. Everything shown from the watcher's
// answers goes through text nodes (never innerHTML): log fields such as station names
// come from whoever wrote to the log.

/** An HTML element with attributes (`text` sets its text) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

/** Unix seconds as `YYYY-MM-DD hh:mm UTC` (with `:ss` when `seconds`). */
export function utc(secs, seconds = false) {
  if (typeof secs !== 'number' || !Number.isFinite(secs)) return 'an unknown time';
  const date = new Date(secs * 1000);
  if (Number.isNaN(date.getTime())) return 'an unknown time';
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)} UTC`;
}

/** A count with its noun, pluralised: `1 entry`, `2 entries`. */
export function count(n, one, many) {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/**
 * GETs JSON from this server: no cookies, no referrer, never cached. Throws an Error
 * with the watcher's own message (`{"error": ...}`) when the answer is not 2xx.
 */
export async function getJson(path) {
  const response = await fetch(path, {
    credentials: 'omit',
    cache: 'no-store',
    referrerPolicy: 'no-referrer',
    headers: { Accept: 'application/json' },
  });
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const why = body && typeof body.error === 'string' ? body.error : response.statusText;
    throw new Error(`${path}: ${response.status} ${why}`);
  }
  if (body === null) throw new Error(`${path}: the answer is not JSON`);
  return body;
}

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}
