// Boot: the token (pasted once, kept in sessionStorage, never in the URL), one live stream, the
// header's chip and remote health, and a router over the location hash.
import { api, ApiError, token, whenUnauthorized } from './api.js';
import { fill, h } from './dom.js';
import { LiveStream } from './stream.js';
import { teamsView } from './views/teams.js';
import { teamView } from './views/team.js';
import { timelineView } from './views/timeline.js';
import { workstreamsView } from './views/workstreams.js';
import { workstreamView } from './views/workstream.js';
import { tailView, TailBuffer } from './views/tail.js';

/** Events the tail keeps before the page loaded (the stream starts this far back). */
const BACKLOG = 100;

const main = document.getElementById('main');
const chip = document.getElementById('chip');
const remote = document.getElementById('remote');
const link = document.getElementById('link');
const forget = document.getElementById('forget');

const state = { posture: undefined, tail: new TailBuffer(500), stream: undefined, view: undefined, link: 'connecting', role: undefined };

/** A token arriving in the fragment (a link `bmo serve` printed) is kept and taken out of the URL at once. */
function tokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  token.set(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}#/teams`);
}

function askForToken(message) {
  state.stream?.stop();
  state.stream = undefined;
  token.clear();
  forget.hidden = true;
  // Nothing of the last token's stays: not its events (another token may not see them), not its header.
  state.tail = new TailBuffer(500);
  state.posture = undefined;
  state.role = undefined;
  chip.textContent = '';
  chip.className = 'chip';
  remote.hidden = true;
  link.textContent = '';
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'token-form', 'aria-labelledby': 'token-title' },
    h('h2', { id: 'token-title' }, 'Sign in with a token'),
    h('p', {}, 'Paste an admin or observer token (data/auth-token on the server, or one from bmo token issue --role observer). It stays in this tab only.'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Open'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (input.value.trim() === '') {
      askForToken('That token is empty: paste the whole token.');
      return;
    }
    token.set(input.value.trim());
    await start();
  });
  fill(main, form);
  input.focus();
}

whenUnauthorized((message) => askForToken(message ?? 'The server refused that token.'));

function renderChip(posture) {
  chip.textContent = posture.chip;
  chip.className = `chip ${posture.chip.startsWith('degraded') ? 'bad' : posture.chip.startsWith('warn') ? 'warn' : posture.chip === 'idle' ? 'idle' : 'ok'}`;
  const health = posture.remote;
  remote.hidden = !health?.host;
  if (!health?.host) return;
  const failing = health.degraded || health.consecutive_failures > 0;
  const words = health.degraded ? 'degraded' : health.consecutive_failures > 0 ? `${health.consecutive_failures} failure(s)` : 'ok';
  fill(
    remote,
    h('span', {}, `remote ${health.host}: `, h('strong', {}, words)),
    // Resetting is an admin's: an observer sees the health, not a button it may not press.
    failing && state.role === 'admin' ? h('button', { type: 'button', class: 'quiet', onclick: resetRemote }, 'Reset') : null,
  );
}

async function resetRemote() {
  try {
    await api('/v1/teams/remote/reset', { method: 'POST', body: {} });
  } catch (error) {
    const text = error instanceof ApiError && error.status === 403 ? 'Only an admin token can reset the remote health.' : error.message;
    remote.appendChild(h('span', { class: 'error', role: 'alert' }, ` ${text}`));
  }
}

function renderLink(name, detail) {
  if (name === 'revoked') {
    askForToken(`This token no longer opens bmo (${detail || 'revoked or expired'}): paste another.`);
    return;
  }
  // A reconnect that keeps failing may be a token refused at the upgrade, which a socket cannot tell: ask the API.
  if (name === 'disconnected') void api('/v1/whoami').catch(() => {});
  state.link = name;
  link.textContent = name === 'live' ? 'live' : name === 'connecting' ? 'connecting…' : name === 'refused' ? `stream refused: ${detail}` : `disconnected, ${detail}`;
  link.className = `link-state ${name}`;
  state.view?.onLink?.(name);
}

const ROUTES = [
  [/^#\/teams\/([a-z0-9][a-z0-9-]{0,63})\/timeline$/, timelineView],
  [/^#\/teams\/([a-z0-9][a-z0-9-]{0,63})$/, teamView],
  [/^#\/workstreams\/([a-z0-9][a-z0-9-]{0,63})$/, workstreamView],
  [/^#\/workstreams$/, workstreamsView],
  [/^#\/tail$/, tailView],
  [/^/, teamsView],
];

function route() {
  if (!token.get() || !state.stream) return;
  state.view?.unmount?.();
  const [pattern, view] = ROUTES.find(([p]) => p.test(location.hash));
  const [, id] = pattern.exec(location.hash);
  const section = location.hash.split('/')[1] || 'teams';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  state.view = view(main, { id, state });
  if (state.posture) state.view.onPosture?.(state.posture);
}

async function start() {
  let head;
  try {
    // The token is checked by the first call of the view; the head only says where the backlog starts.
    head = (await (await fetch('/healthz')).json()).pos;
  } catch (error) {
    fill(main, h('p', { class: 'error', role: 'alert' }, `bmo did not answer: ${error.message}`));
    return;
  }
  forget.hidden = false;
  void api('/v1/whoami').then(
    (me) => (state.role = me.role),
    () => {},
  );
  state.stream = new LiveStream({
    from: Math.max(0, head - BACKLOG),
    token: () => token.get(),
    onEvent: (event) => {
      state.tail.push(event);
      state.view?.onEvent?.(event);
    },
    onPosture: (posture) => {
      state.posture = posture;
      renderChip(posture);
      state.view?.onPosture?.(posture);
    },
    onState: renderLink,
  });
  route();
}

forget.addEventListener('click', () => askForToken());
// The skip link moves focus to the content, not the route: its #main would be read as one.
document.querySelector('a.skip')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
tokenFromFragment();
if (token.get()) void start();
else askForToken();
