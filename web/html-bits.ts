/**
 * Small pieces of the status page's HTML that every page uses: a time, a duration between two times, a status word
 * marked for colour, a run's address. Pure; every value is escaped by the `html` tag.
 */
import { formatDuration } from '../runbook/duration.js';
import { statusWord } from '../present/run-view.js';
import { html, type SafeHtml } from '../present/html.js';

/** `2026-12-05T22:00:00.000Z` as `2026-12-05 22:00:00 UTC`, in a `<time>` element machines can read. */
export function time(iso: string | null | undefined): SafeHtml | '' {
  if (!iso) return '';
  const shown = Number.isNaN(Date.parse(iso)) ? iso : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${iso}">${shown}</time>`;
}

/** How long between two ISO times, or '' when either is missing. */
export function between(start: string | null | undefined, end: string | null | undefined): string {
  if (!start || !end) return '';
  return formatDuration(Math.max(0, Date.parse(end) - Date.parse(start)));
}

/** A status as words (`backed_out` → `backed out`), marked with a class for colour; the word carries the meaning. */
export function status(value: string): SafeHtml {
  return html`<span class="status status-${value}">${statusWord(value)}</span>`;
}

export function runHref(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}
