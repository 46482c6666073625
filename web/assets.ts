/**
 * The status page's stylesheet and its scripts, served by the app as files (`/assets/page.css`, `/assets/live.js`,
 * `/assets/board.js`) so the Content-Security-Policy can forbid every inline style and script: even a page that
 * failed to escape something would run nothing injected. Kept here as strings so the build needs no copy step.
 */
import { TIMELINE_CSS } from '../present/timeline-svg.js';

/** The pages' CSS: light or dark as the reader's system is; wide tables and the timeline scroll inside themselves on a phone. */
export const PAGE_CSS = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
  body { margin: 0 auto; max-width: 78rem; padding: 1rem 1.5rem 3rem; }
  nav { font-size: .9rem; margin-bottom: .5rem; }
  h1 { font-size: 1.5rem; margin: .25rem 0 .75rem; }
  h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  caption { text-align: left; font-weight: 600; padding: .25rem 0; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
  thead th { border-bottom: 2px solid #8888; white-space: nowrap; }
  tbody th[scope=rowgroup] { background: #8881; padding-top: .6rem; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
  dl.summary dt { font-weight: 600; }
  dl.summary dd { margin: 0; }
  code { font-size: .95em; }
  .status { font-weight: 600; white-space: nowrap; }
  .status-succeeded, .status-completed, .status-simulated, .status-approved { color: #1a7f37; }
  .status-failed, .status-backed_out, .status-rejected { color: #cf222e; }
  .status-waiting, .status-backing_out, .status-running { color: #9a6700; }
  .note { color: #8a6d00; border-left: 3px solid currentColor; padding: .25rem .75rem; }
  .muted { opacity: .75; }
  .scroll { overflow-x: auto; max-width: 100%; }
  section:empty { display: none; }
  .clock { margin: 0 0 .5rem; }
  .live-status { font-size: .85rem; margin: 0 0 .5rem; padding: .2rem .6rem; border-radius: .3rem; display: inline-block; background: #8882; }
  .live-status.live-live { background: #1a7f3722; }
  .live-status.live-reconnecting, .live-status.live-connecting { background: #9a670033; font-weight: 700; }
  .live-status.live-closed, .live-status.live-problem { background: #cf222e33; font-weight: 700; }
  #sec-waiting { border: 2px solid #9a6700; border-radius: .4rem; padding: .25rem 1rem .5rem; margin: .5rem 0 1rem; }
  #sec-waiting h2 { margin-top: .5rem; }
  ul.waiting { margin: 0; padding-left: 1.2rem; }
  ul.waiting li { margin: .3rem 0; }
  .deadline { color: #cf222e; font-weight: 600; }
  ul.forecast { margin: 0; padding-left: 1.2rem; }
  ul.forecast.tone-bad { color: #cf222e; } ul.forecast.tone-warn { color: #9a6700; }
  @media (max-width: 600px) {
    body { padding: .5rem .75rem 2rem; }
    h1 { font-size: 1.2rem; overflow-wrap: anywhere; }
    dl.summary { grid-template-columns: 1fr; }
    dl.summary dd { margin-bottom: .3rem; overflow-wrap: anywhere; }
  }
${TIMELINE_CSS}`;

/**
 * The run page's script: joins the run's event stream, puts each changed part in place, and says whether the page is
 * live, reconnecting (the browser comes back on its own, with the id of the last event it had, and the server sends
 * what it missed) or stopped. It counts gaps in the event ids (`data-gaps`), which a resumed stream never has, and the whole snapshots it was sent
 * (`data-snapshots`): one when it opens, none when a stream resumes.
 */
export const LIVE_JS = `'use strict';
(function () {
  var root = document.getElementById('live');
  if (!root || !window.EventSource) return;
  var say = document.getElementById('live-status');
  var last = null;
  var gaps = 0;
  var snapshots = 0;
  var ended = false;
  function show(state, words) {
    say.textContent = words;
    say.className = 'live-status live-' + state;
    root.setAttribute('data-state', state);
  }
  var source = new EventSource(root.getAttribute('data-live'));
  show('connecting', 'Connecting to live updates…');
  source.onopen = function () {
    show('live', 'Live: changes appear here as they happen.');
  };
  source.onerror = function () {
    if (ended) return;
    if (source.readyState === EventSource.CLOSED) show('closed', 'Live updates stopped; reload the page.');
    else show('reconnecting', 'Reconnecting… changes made meanwhile will appear when it is back.');
  };
  function apply(event, snapshot) {
    var data = JSON.parse(event.data);
    var seq = Number(String(event.lastEventId).split('-')[1]);
    if (!snapshot && last !== null && seq !== last + 1) gaps += 1;
    if (snapshot) snapshots += 1;
    if (event.lastEventId) last = seq;
    root.setAttribute('data-last-event', event.lastEventId);
    root.setAttribute('data-gaps', String(gaps));
    root.setAttribute('data-snapshots', String(snapshots));
    Object.keys(data.sections).forEach(function (key) {
      var part = document.getElementById('sec-' + key);
      if (part) part.innerHTML = data.sections[key];
    });
    show('live', 'Live: changes appear here as they happen.');
  }
  source.addEventListener('snapshot', function (e) { apply(e, true); });
  source.addEventListener('sections', function (e) { apply(e, false); });
  source.addEventListener('problem', function (e) { show('problem', JSON.parse(e.data).sentence); });
  source.addEventListener('end', function (e) {
    ended = true;
    source.close();
    show('ended', JSON.parse(e.data).sentence);
  });
})();
`;

/** The wallboard's look: dark, large type, a coloured edge and word per run (the word carries the meaning). */
export const BOARD_CSS = `
  body.board { max-width: none; background: #0d1117; color: #e6edf3; font-size: 1.4rem; }
  body.board a { color: #9ecbff; }
  body.board h1 { font-size: 2.2rem; }
  body.board h2.group { font-size: 1.5rem; margin: 1.5rem 0 .5rem; }
  ul.tiles { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); gap: 1rem; }
  li.tile { border: 2px solid #30363d; border-left-width: 1rem; border-radius: .5rem; padding: .5rem 1rem; background: #161b22; overflow-wrap: anywhere; }
  li.tile h2 { font-size: 1.6rem; margin: .2rem 0; }
  li.tile p { margin: .2rem 0; }
  li.tile .rag { font-weight: 800; letter-spacing: .05em; }
  li.rag-green { border-color: #2ea043; } li.rag-green .rag { color: #3fb950; }
  li.rag-amber { border-color: #d29922; } li.rag-amber .rag { color: #e3b341; }
  li.rag-red { border-color: #f85149; } li.rag-red .rag { color: #ff7b72; }
  li.tile .waiting { color: #e3b341; }
`;

/** The history page's stacked bars: one colour per phase (8, then again). */
export const HISTORY_CSS = `
  svg.history { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
  svg.history text { fill: currentColor; } svg.history .label { text-anchor: end; }
  svg.history .ph-0 { fill: #1f77b4; } svg.history .ph-1 { fill: #ff7f0e; } svg.history .ph-2 { fill: #2ca02c; }
  svg.history .ph-3 { fill: #d62728; } svg.history .ph-4 { fill: #9467bd; } svg.history .ph-5 { fill: #8c564b; }
  svg.history .ph-6 { fill: #e377c2; } svg.history .ph-7 { fill: #7f7f7f; }
  form.compare { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: end; }
  form.compare p { margin: .25rem 0; min-width: 0; max-width: 100%; }
  form.compare label { display: block; font-weight: 600; }
  form.compare select { max-width: 100%; }
  td.later { color: #cf222e; } td.sooner { color: #1a7f37; }
  tr.moved-slower th code, tr.moved-faster th code { font-weight: 700; }
`;

/** The wallboard's script: fetches the board every `data-refresh` seconds and swaps its content in, with no reload. */
export const BOARD_JS = `'use strict';
(function () {
  var every = Number(document.body.getAttribute('data-refresh')) || 10;
  function refresh() {
    fetch(location.href, { headers: { accept: 'text/html' }, cache: 'no-store' })
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(new Error(String(answer.status))); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, 'text/html').querySelector('main');
        var now = document.querySelector('main');
        if (fresh && now) now.replaceWith(fresh);
      })
      .catch(function () { /* the next refresh tries again */ })
      .then(function () { setTimeout(refresh, every * 1000); });
  }
  setTimeout(refresh, every * 1000);
})();
`;
