// The console's shell: reads /console/config.json, signs in, then shows the navigation and the page of the
// current address. Pages are modules listed in pages/index.js; each says the lowest role that sees it.
// A page that throws while rendering shows its error in words, never a blank screen.

import { html } from 'htm/preact';
import { render, Component } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import './style.css';
import { can, currentUser, initAuth, onAuthChange, signOut } from './lib/auth.js';
import { Link, match, navigate, useLocation } from './lib/router.js';
import { MODULES, ROUTES } from './pages/index.js';
import { SignIn } from './pages/signin.js';

class Boundary extends Component {
  state = { error: null };
  componentDidCatch(error) {
    this.setState({ error });
  }
  componentDidUpdate(previous) {
    if (previous.where !== this.props.where && this.state.error) this.setState({ error: null });
  }
  render() {
    if (!this.state.error) return this.props.children;
    return html`<div class="notice error" role="alert">
      <p><strong>This page failed.</strong> ${String(this.state.error.message || this.state.error)}</p>
      <button type="button" onClick=${() => location.reload()}>Reload the console</button>
    </div>`;
  }
}

function Shell() {
  const where = useLocation();
  const user = currentUser();
  const main = useRef(null);
  const path = where.split('?')[0];
  const found = match(ROUTES, path);
  useEffect(() => {
    if (path === '/') navigate('/inbox', { replace: true });
  }, [path]);
  useEffect(() => {
    // After navigation, focus moves to the page's heading so a screen reader announces where we are.
    const heading = main.current && main.current.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    document.title = `${found ? found.route.title : 'Not found'} · WECARE console`;
  }, [where]);
  let page;
  if (!found) page = html`<h1>Not found</h1><p>No page lives at <code>${path}</code>. <${Link} href="/inbox">Go to the inbox</${Link}>.</p>`;
  else if (!can(found.route.role)) page = html`<h1>${found.route.title}</h1><p class="notice">This page is for the ${found.route.role} role and above; you are signed in as ${user.role || 'a user with no role'}.</p>`;
  else page = html`<${found.route.view} ...${found.params} />`;
  return html`
    <a class="skip" href="#main">Skip to the page</a>
    <header class="top">
      <span class="brand">WECARE</span>
      <nav aria-label="Pages">
        <ul>
          ${MODULES.filter((m) => can(m.role)).map(
            (m) => html`<li><${Link} href=${m.path} aria-current=${path.startsWith(m.path) ? 'page' : undefined}>${m.title}</${Link}></li>`,
          )}
        </ul>
      </nav>
      <div class="who">
        <span>${user.username} <span class="role">${user.role || 'no role'}</span></span>
        <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <main id="main" ref=${main}>
      <${Boundary} where=${where}>${page}</${Boundary}>
    </main>`;
}

function App({ config }) {
  const [, setVersion] = useState(0);
  useEffect(() => onAuthChange(() => setVersion((v) => v + 1)), []);
  return currentUser() ? html`<${Shell} />` : html`<${SignIn} config=${config} />`;
}

async function start() {
  const root = document.getElementById('app');
  let config;
  try {
    const response = await fetch('/console/config.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch (error) {
    root.textContent = `The console could not read its settings from /console/config.json (${error.message}). Reload to try again.`;
    return;
  }
  initAuth(config);
  root.textContent = '';
  render(html`<${App} config=${config} />`, root);
}

start();
