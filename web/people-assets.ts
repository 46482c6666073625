/**
 * The acting part's script and styles (issue 19), served as files so the CSP forbids every inline script and style.
 * The script makes and uses passkeys through @simplewebauthn/browser (served from node_modules as
 * `/assets/webauthn-browser.js`, its UMD bundle: no CDN) and signs each request on the device: it builds the same
 * canonical text `cutover approve` signs (run/signed-request.ts `signedText`), asks the passkey to sign its SHA-256 as
 * the WebAuthn challenge, and sends the request with the assertion. The page server only forwards it to the run.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The browser library's UMD bundle from node_modules, read once. */
export function webauthnBrowserBundle(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@simplewebauthn/browser');
  const root = entry.slice(0, entry.lastIndexOf(`${path.sep}script${path.sep}`));
  return readFileSync(path.join(root, 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
}

/** The acting pages' styles: large targets, one column at 375 px. */
export const ACT_CSS = `
  body.act { max-width: 40rem; }
  body.act .big { font-size: 1.1rem; min-height: 3rem; min-width: 8rem; padding: .5rem 1rem; border-radius: .5rem; }
  body.act .go { background: #1a7f37; color: #fff; border: 0; } body.act .no { background: #cf222e; color: #fff; border: 0; }
  body.act ul.cards { list-style: none; padding: 0; margin: 0; }
  body.act li.card { border: 1px solid #8886; border-radius: .5rem; padding: .5rem 1rem; margin: .75rem 0; overflow-wrap: anywhere; }
  body.act li.card h2 { margin: .25rem 0; font-size: 1.1rem; }
  body.act label { display: block; margin: .5rem 0; }
  body.act textarea, body.act input, body.act select { display: block; width: 100%; box-sizing: border-box; font: inherit; min-height: 2.5rem; }
  body.act .sev1, body.act .sev2 { color: #cf222e; } body.act .target-breached { color: #cf222e; font-weight: 600; }
  body.act .buttons { display: flex; gap: .75rem; flex-wrap: wrap; }
  body.act .act-head { display: flex; justify-content: space-between; align-items: center; gap: 1rem; }
  body.act output.recorded { display: block; font-weight: 600; }
  body.act pre { white-space: pre-wrap; overflow-wrap: anywhere; }
`;

/** The acting pages' script: enrolment, sign-in, sign-out, and signing each request with the passkey. */
export const ACT_JS = `'use strict';
(function () {
  var body = document.body;
  var lib = window.SimpleWebAuthnBrowser;
  var status = document.getElementById('act-status');
  function say(text) { if (status) status.textContent = text; }
  function post(url, data, csrf) {
    var headers = { 'content-type': 'application/json' };
    if (csrf) headers['x-csrf-token'] = csrf;
    return fetch(url, { method: 'POST', headers: headers, body: data === undefined ? '{}' : JSON.stringify(data), credentials: 'same-origin' })
      .then(function (answer) {
        return answer.json().then(function (json) {
          if (!answer.ok) throw new Error(json.error || ('the page answered ' + answer.status));
          return json;
        });
      });
  }
  // The same text for the same value anywhere: keys sorted at every level, no spaces (run/signed-request.ts).
  function canonical(value) {
    if (value === null || typeof value !== 'object') return value === undefined ? 'null' : JSON.stringify(value);
    if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
    return '{' + Object.keys(value).filter(function (k) { return value[k] !== undefined; }).sort()
      .map(function (k) { return JSON.stringify(k) + ':' + canonical(value[k]); }).join(',') + '}';
  }
  function base64url(bytes) {
    var text = '';
    new Uint8Array(bytes).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  var page = body.getAttribute('data-page');
  if (page === 'enrol') {
    document.getElementById('enrol').addEventListener('click', function () {
      var url = location.pathname;
      say('Making your passkey…');
      post(url + '/options')
        .then(function (options) { return lib.startRegistration({ optionsJSON: options }); })
        .then(function (response) { return post(url, response); })
        .then(function (done) {
          var line = document.getElementById('runbook-line');
          line.textContent = done.runbookLine;
          line.hidden = false;
          document.getElementById('to-act').hidden = false;
          say('Your passkey is made and you are signed in. Give the line above to the cutover lead for the runbook.');
        })
        .catch(function (err) { say('Not enrolled: ' + err.message); });
    });
  }
  if (page === 'sign-in') {
    document.getElementById('sign-in').addEventListener('click', function () {
      say('Signing in…');
      post('/sign-in/options')
        .then(function (options) { return lib.startAuthentication({ optionsJSON: options }); })
        .then(function (response) { return post('/sign-in', response); })
        .then(function (done) { say('Signed in as ' + done.person + '.'); location.assign(done.next); })
        .catch(function (err) { say('Not signed in: ' + err.message); });
    });
  }
  if (page !== 'act') return;
  var person = body.getAttribute('data-person');
  var csrf = body.getAttribute('data-csrf');
  document.getElementById('sign-out').addEventListener('click', function () {
    post('/sign-out', {}, csrf).then(function () { location.assign('/sign-in'); }, function (err) { say(err.message); });
  });
  function randomNonce() { var b = new Uint8Array(16); crypto.getRandomValues(b); return base64url(b); }
  function sign(run, kind, fields) {
    var at = new Date().toISOString();
    var nonce = randomNonce();
    var text = canonical({ at: at, fields: fields, kind: kind, nonce: nonce, run: run, v: 1 });
    return crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)).then(function (hash) {
      return lib.startAuthentication({ optionsJSON: {
        challenge: base64url(hash), rpId: body.getAttribute('data-rp'), userVerification: 'required', timeout: 120000,
        allowCredentials: [{ id: body.getAttribute('data-credential'), type: 'public-key' }]
      } });
    }).then(function (assertion) {
      return { key: body.getAttribute('data-passkey'), at: at, nonce: nonce, value: assertion.response.signature,
        authenticatorData: assertion.response.authenticatorData, clientDataJSON: assertion.response.clientDataJSON,
        credential: assertion.id };
    });
  }
  function buttons(form, disabled) {
    Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = disabled; });
  }
  // One listener for every card, those the live stream adds later too.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains('act-request')) return;
    event.preventDefault();
    var out = form.querySelector('output.recorded');
    var decision = event.submitter ? event.submitter.value : 'approve';
    var reason = form.elements.reason ? form.elements.reason.value.trim() : '';
    var run = form.getAttribute('data-run');
    var what = form.getAttribute('data-kind');
    var kind, fields;
    // Used again after it is recorded: an acknowledgement leaves the vote or the step to do, an incident card stays.
    var again = decision === 'ack' || what === 'incident-open' || (what === 'incident' && decision === 'update');
    if (decision === 'ack') {
      kind = 'acknowledge';
      fields = { stepId: form.getAttribute('data-gate') || form.getAttribute('data-step'), by: person };
    } else if (what === 'incident-open') {
      // The fields cutover incident open signs; the run says which are wrong.
      kind = 'incident';
      var title = form.elements.title.value.trim();
      if (!title) { out.textContent = 'An incident needs a title: write it above, then tap Open incident.'; return; }
      fields = { action: 'open', severity: Number(form.elements.severity.value), title: title, owner: form.elements.owner.value, by: person };
      if (form.elements.step.value.trim()) fields.step = form.elements.step.value.trim();
      if (form.elements.external.value.trim()) fields.external = form.elements.external.value.trim();
    } else if (what === 'incident') {
      kind = 'incident';
      fields = { action: decision === 'resolve' ? 'resolve' : 'update', incidentId: form.getAttribute('data-incident'), by: person };
      if (reason) fields.note = reason;
      if (decision !== 'resolve') {
        var eta = form.elements.eta.value;
        if (eta) {
          var when = new Date(eta);
          if (isNaN(when.getTime())) { out.textContent = 'The ETA is not a time: pick a date and time, then tap Update.'; return; }
          fields.eta = when.toISOString();
        }
        if (form.elements.owner.value) fields.owner = form.elements.owner.value;
        if (!fields.eta && !fields.note && !fields.owner) {
          out.textContent = 'An update needs an ETA, a note or another owner: fill one in above, then tap Update.';
          return;
        }
      }
    } else if (what === 'vote') {
      kind = decision;
      fields = { gateId: form.getAttribute('data-gate'), by: person };
      if (reason) fields.reason = reason;
      if (form.getAttribute('data-evidence')) fields.evidence = form.getAttribute('data-evidence');
      if (kind === 'reject' && !reason) { out.textContent = 'A no-go needs a reason: write it above, then tap Reject.'; return; }
    } else if (what === 'backout' || (what === 'resolve' && decision === 'backout')) {
      kind = 'request_backout';
      if (!reason) { out.textContent = 'A back-out needs a reason: write it above, then tap Back out.'; return; }
      fields = { by: person, reason: reason };
    } else if (what === 'resolve') {
      // The fields cutover resolve signs: retry, or done by hand.
      kind = 'resolve';
      if (!reason) { out.textContent = 'Resolving a failure needs a reason: write it above, then tap your choice.'; return; }
      fields = { stepId: form.getAttribute('data-step'), by: person, action: decision === 'retry' ? 'retry' : 'done', reason: reason };
    } else {
      kind = 'complete_manual';
      fields = { stepId: form.getAttribute('data-step'), by: person };
      if (reason) fields.reason = reason;
    }
    out.textContent = 'Confirm with your passkey…';
    form.setAttribute('data-busy', '1');
    buttons(form, true);
    sign(run, kind, fields)
      .then(function (signature) { out.textContent = 'Sending…'; return post('/act/request', { run: run, kind: kind, fields: fields, signature: signature }, csrf); })
      .then(function (answer) {
        out.textContent = 'Recorded: ' + answer.sentence;
        form.removeAttribute('data-busy');
        if (!again) { form.setAttribute('data-recorded', answer.decision || kind); return; }
        // The live stream replaces the card with what the run now says (who is on it, the incident's new state); the
        // sentence goes along.
        form.setAttribute('data-sent', kind);
        if (what !== 'vote' && what !== 'done') form.reset();
        buttons(form, false);
      })
      .catch(function (err) {
        out.textContent = 'Not recorded: ' + err.message;
        form.removeAttribute('data-busy');
        form.setAttribute('data-refused', err.message);
        buttons(form, false);
      });
  });
  // Live: the cards as the runs move. A card is replaced only when it changed and nobody is using it (a reason typed
  // is carried over); a card being signed, or showing what the run recorded, stays until the page is reloaded.
  var list = document.getElementById('act-cards');
  var nothing = document.getElementById('act-nothing');
  var liveNote = document.getElementById('act-live');
  function inUse(item) {
    var form = item.querySelector('form');
    return form && (form.hasAttribute('data-busy') || form.hasAttribute('data-recorded'));
  }
  // What the person typed or chose in a card, and what the run last answered, carried into its new version.
  function carryOver(old, fresh) {
    Array.prototype.forEach.call(old.querySelectorAll('[name]'), function (field) {
      var into = fresh.querySelector('[name="' + field.name + '"]');
      if (into && field.tagName !== 'BUTTON' && field.value !== field.defaultValue) into.value = field.value;
    });
    var was = old.querySelector('form[data-sent]');
    var form = fresh.querySelector('form');
    if (was && form) {
      form.setAttribute('data-sent', was.getAttribute('data-sent'));
      form.querySelector('output.recorded').textContent = was.querySelector('output.recorded').textContent;
    }
  }
  // An incident's age, kept current between changes of the run (the server leaves it out of a card's version).
  function age(ms) {
    var s = Math.max(0, Math.round(ms / 1000)), m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    if (d > 0) return d + 'd' + (h % 24 || m % 60 ? ' ' + (h % 24) + 'h' : '') + (m % 60 ? pad(m % 60) + 'm' : '');
    if (h > 0) return h + 'h' + pad(m % 60) + 'm';
    return m > 0 ? m + 'm' + pad(s % 60) + 's' : s + 's';
  }
  setInterval(function () {
    Array.prototype.forEach.call(document.querySelectorAll('.age[data-since]'), function (span) {
      span.textContent = age(Date.now() - Date.parse(span.getAttribute('data-since')));
    });
  }, 15000);
  function merge(cards) {
    var keep = {};
    var before = null;
    cards.forEach(function (c) { keep[c.key] = true; });
    Array.prototype.forEach.call(list.children, function (item) {
      if (!keep[item.getAttribute('data-key')] && !inUse(item)) item.setAttribute('data-gone', '1');
    });
    Array.prototype.forEach.call(list.querySelectorAll('li[data-gone]'), function (item) { item.remove(); });
    cards.slice().reverse().forEach(function (c) {
      var holder = document.createElement('ul');
      holder.innerHTML = c.html;
      var fresh = holder.firstElementChild;
      var old = null;
      Array.prototype.forEach.call(list.children, function (item) { if (item.getAttribute('data-key') === c.key) old = item; });
      if (old && (old.getAttribute('data-version') === fresh.getAttribute('data-version') || inUse(old))) { before = old; return; }
      if (old) {
        carryOver(old, fresh);
        old.replaceWith(fresh);
      } else {
        list.insertBefore(fresh, before || null);
      }
      before = fresh;
    });
    nothing.hidden = list.children.length > 0;
  }
  if (!window.EventSource) return;
  var stream = new EventSource('/act/events');
  stream.addEventListener('cards', function (event) {
    merge(JSON.parse(event.data).cards);
    liveNote.textContent = 'Live: this page changes as the runs move.';
    liveNote.setAttribute('data-state', 'live');
  });
  stream.addEventListener('end', function (event) {
    stream.close();
    liveNote.textContent = JSON.parse(event.data).sentence;
    liveNote.setAttribute('data-state', 'ended');
  });
  stream.onerror = function () {
    // Closed for good when the page refused the stream (the session ended): reconnecting would not help.
    var closed = stream.readyState === EventSource.CLOSED;
    liveNote.textContent = closed ? 'Live updates stopped; reload the page (you may need to sign in again).' : 'Reconnecting for live updates…';
    liveNote.setAttribute('data-state', closed ? 'ended' : 'reconnecting');
  };
})();
`;
