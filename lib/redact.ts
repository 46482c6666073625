/**
 * Passwords out of connection URLs before they are shown or logged: `postgresql://cutover:***@db/cutover`. Pure.
 */

/** The URL with its password (if any) replaced by `***`; unparseable URLs lose everything after `//`. */
export function redact(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i.exec(url);
  if (!match) return url;
  const userinfo = match[2] ?? '';
  const colon = userinfo.indexOf(':');
  return colon < 0 ? url : `${match[1]}${userinfo.slice(0, colon)}:***@${url.slice(match[0].length)}`;
}
