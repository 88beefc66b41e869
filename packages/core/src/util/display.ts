/**
 * Showing text that lockstep did not write itself: lease records read from
 * disk or from a git remote (written by other users and other machines),
 * journal records, and echoed input. A terminal obeys control characters in
 * what it prints, so a record with `\x1b[2J` in its owner could clear the
 * screen of whoever runs `lockstep lock status`, and one with U+202E could
 * make a name read backwards. Everything such a value reaches a person
 * through goes through one of these functions.
 *
 * Escaped (as `\u001b`, JavaScript / JSON style):
 * - C0 controls U+0000–U+001F (ESC, CR, BEL, backspace, …) and DEL U+007F;
 * - C1 controls U+0080–U+009F (U+009B is CSI on some terminals);
 * - Unicode bidi controls U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069;
 * - line and paragraph separators U+2028, U+2029, and lone surrogates.
 *
 * A literal backslash is left alone: the point is that nothing reaches the
 * terminal that it would act on, not a reversible encoding (JSON output keeps
 * the exact value, see `safeJson`).
 */

/** Every character `escapeControls` replaces (a lone surrogate is matched separately). */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The same characters, except newline and tab (for whole lines of lockstep's own output). */
const UNSAFE_IN_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Default longest value `safeText` shows, in characters (escapes count as written). */
export const DISPLAY_MAX_CHARS = 200;

/** Strings longer than this in JSON output are cut (legitimate values are far shorter). */
export const JSON_MAX_CHARS = 4096;

const ELLIPSIS = '…';

function escapeChar(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Replaces every control, bidi and separator character by its `\uXXXX` text. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** Whether `text` holds a character `escapeControls` would replace. */
export function hasControls(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return found;
}

/** Cuts `text` to at most `max` characters (the last one an ellipsis), never inside a surrogate pair. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const code = text.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/**
 * A value from elsewhere, fit for one line of a terminal: control characters
 * escaped, then cut to `max` characters with an ellipsis. Not a string
 * (a damaged record): its String() form, treated the same way.
 */
export function safeText(value: unknown, max = DISPLAY_MAX_CHARS): string {
  const text = typeof value === 'string' ? value : String(value);
  // Escape only the part that can be shown: a 10 MB owner costs no more than a short one.
  const head = text.length > max * 8 ? text.slice(0, max * 8) : text;
  const escaped = escapeControls(head);
  return head.length < text.length ? truncateText(`${escaped}${ELLIPSIS}`, max) : truncateText(escaped, max);
}

/**
 * Lines of lockstep's own output (which may embed values from elsewhere):
 * every control character escaped except newline and tab. Idempotent, so text
 * already built with `safeText` passes unchanged.
 */
export function safeLines(text: string): string {
  return text.replace(UNSAFE_IN_LINES, escapeChar);
}

/**
 * JSON for output: strings longer than `maxChars` cut with an ellipsis, and
 * every control character written as a `\uXXXX` escape (JSON.stringify
 * escapes only U+0000–U+001F). The parsed value is the same as the input's
 * apart from the cut strings, and the text holds nothing a terminal acts on.
 */
export function safeJson(value: unknown, maxChars = JSON_MAX_CHARS): string {
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && v.length > maxChars ? truncateText(v, maxChars) : v));
  return json === undefined ? json : json.replace(UNSAFE, escapeChar);
}

/**
 * The credentials of a URL, everything between `scheme://` and the last `@`
 * before the host (`user:pass@`, a token alone `token@`, a password with an
 * `@` in it), up to the first `/`, `?`, `#`, quote or white space.
 */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/?#'"]*@/gi;

/**
 * `https://user:token@host/x` → `https://***@host/x`, also inside longer text
 * and for every URL in it: credentials in URLs never reach a message, a log
 * line or a journal. The one rule for it (the registry's redactor, the git
 * backend's messages and the journal's registry URL all use it).
 */
export function redactUrls(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}
