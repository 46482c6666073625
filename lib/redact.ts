/**
 * Passwords out of connection URLs before they are shown or logged: `postgresql://cutover:***@db/cutover`. Pure.
 *
 * People paste passwords unencoded, so a password may hold `/`, `@`, `?` or `#`: the user information is taken to end
 * at the last `@` of the URL. A URL whose query also holds an `@` then shows less than it could (part of its host is
 * hidden too), never more. libpq's keyword form (`?password=...`, `sslpassword=...`) is masked as well.
 */

/** The URL with its password(s) (if any) replaced by `***`. */
export function redact(url: string): string {
  return maskParameters(maskUserinfo(url));
}

function maskUserinfo(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return url;
  const at = url.lastIndexOf('@');
  if (at < scheme[0].length) return url;
  const userinfo = url.slice(scheme[0].length, at);
  const colon = userinfo.indexOf(':');
  // `user:password`: the user name itself holds none of the characters that end an authority.
  if (colon < 0 || /[/?#]/.test(userinfo.slice(0, colon))) return url;
  return `${scheme[0]}${userinfo.slice(0, colon)}:***${url.slice(at)}`;
}

function maskParameters(url: string): string {
  return url.replace(/([?&][a-z_]*password=)[^&#]*/gi, '$1***');
}
