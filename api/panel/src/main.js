// The panel's shell: sign-in with an API token (kept in session storage),
// and a hash router over the library, upload and video pages.

import { api, clearToken, setToken, token } from './api.js';
import { clear, h } from './dom.js';
import { libraryPage } from './library.js';
import { videoPage } from './player.js';
import { uploadPage } from './upload.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let leave = new AbortController();
let cleanups = [];

/** Stops what the current page runs: live streams, the player. */
function leavePage() {
  leave.abort();
  for (const f of cleanups) f();
  cleanups = [];
  leave = new AbortController();
}

function signIn(message = '') {
  leavePage();
  nav.hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', required: true, spellcheck: false });
  const error = h('p.error', { role: 'alert', id: 'signin-error' }, message);
  const form = h('form.card.signin', {
    onsubmit: async (e) => {
      e.preventDefault();
      const candidate = input.value.trim();
      error.textContent = '';
      try {
        // Any authenticated read proves the token; it is never put in a URL.
        await api('/v1/videos?per_page=1', { auth: candidate });
        setToken(candidate);
        route();
      } catch (err) {
        error.textContent = err.status === 401
          ? `This token was not accepted (${err.message}). Check that you pasted the whole token, and that it has not been revoked.`
          : `Could not sign in: ${err.message}`;
        input.focus();
        input.select();
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Paste an API token (uploader or admin role to upload and edit). It is kept in this tab only and sent as a bearer token.'),
  h('label', { htmlFor: 'token' }, 'API token'), input, error,
  h('button.primary', { type: 'submit' }, 'Sign in'));
  clear(main).append(form);
  input.focus();
}

async function route() {
  if (!token()) return signIn();
  leavePage();
  nav.hidden = false;
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const ctx = { signal: leave.signal, onLeave: (f) => cleanups.push(f) };
  for (const a of nav.querySelectorAll('a')) {
    a.toggleAttribute('aria-current', a.getAttribute('href') === `#${path.startsWith('/videos/') ? '/' : path || '/'}`);
  }
  const video = path.match(/^\/videos\/([0-9a-f-]{36})$/);
  try {
    if (path === '/upload') await uploadPage(main);
    else if (video) await videoPage(main, video[1], ctx);
    else await libraryPage(main, params, ctx);
  } catch (e) {
    if (!leave.signal.aborted) clear(main).append(h('p.error', {}, `Something went wrong: ${e.message}`));
  }
  main.focus({ preventScroll: true });
}

window.addEventListener('vod:unauthorized', () => {
  if (!token()) return;
  clearToken();
  signIn('The API no longer accepts this token. Sign in again.');
});
document.getElementById('signout').addEventListener('click', () => {
  clearToken();
  location.hash = '#/';
  signIn();
});
window.addEventListener('hashchange', route);
route();
