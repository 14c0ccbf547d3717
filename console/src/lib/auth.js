// Sign-in with Cognito, as a browser app does it: InitiateAuth (USER_PASSWORD_AUTH) with the public app client
// id against the endpoint the gateway's /console/config.json names (the embedded AWS locally, Cognito in AWS),
// then REFRESH_TOKEN_AUTH a minute before the access token expires, and GlobalSignOut on signing out. The tokens live in this tab's
// sessionStorage only (gone when the tab closes) and travel only in the Authorization header. The roles shown
// are read from the access token's `cognito:groups`; the server decides what each call may do.

const KEY = 'wecare.session';
const REFRESH_AHEAD_MS = 60_000;
const RETRY_MS = 10_000;
export const ROLES = ['viewer', 'operator', 'admin'];

let config = null;
let session = null; // {accessToken, idToken, refreshToken, expiresAt, username, roles}
let timer = null;
let refreshing = null;
let notice = '';
const listeners = new Set();

export class AuthError extends Error {}

export function initAuth(cfg) {
  config = cfg;
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (stored && stored.refreshToken && stored.accessToken) session = stored;
  } catch {
    session = null;
  }
  if (session) schedule();
}

export function onAuthChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const currentUser = () =>
  session && { username: session.username, roles: session.roles, role: highestRole(session.roles) };
export const accessToken = () => session && session.accessToken;
export const signInNotice = () => notice;

/** Whether the signed-in person's role is at least `role` (viewer < operator < admin). */
export function can(role) {
  const user = currentUser();
  return !!user && ROLES.indexOf(user.role) >= ROLES.indexOf(role);
}

export async function signIn(username, password) {
  const reply = await cognito('InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH',
    ClientId: config.cognito.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  if (reply.ChallengeName) {
    throw new AuthError(`Cognito asks this user for ${reply.ChallengeName.toLowerCase().replace(/_/g, ' ')}, ` +
      'which this console does not do: ask an administrator to set the user up.');
  }
  notice = '';
  set(fromResult(reply.AuthenticationResult, ''));
}

/** Refreshes now (one refresh at a time); false when the session could not be kept. */
export function refresh() {
  if (!session) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = cognito('InitiateAuth', {
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      ClientId: config.cognito.clientId,
      AuthParameters: { REFRESH_TOKEN: session.refreshToken },
    })
      .then((reply) => {
        set(fromResult(reply.AuthenticationResult, session.refreshToken));
        return true;
      })
      .catch((error) => {
        if (error instanceof AuthError) {
          end('Your session has ended: sign in again.');
          return false;
        }
        schedule(RETRY_MS); // Cognito unreachable: keep the tokens while they last, try again
        return Date.now() < session.expiresAt;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** Forgets the tokens here and signs the user out at Cognito (GlobalSignOut: its refresh tokens stop working,
 * so a copy of one left anywhere is useless). */
export function signOut() {
  const token = session && session.accessToken;
  end('');
  if (token) cognito('GlobalSignOut', { AccessToken: token }).catch(() => {});
}

/** The API refused the token (401): it was revoked or expired while the tab slept. */
export async function tokenRefused() {
  const kept = await refresh();
  if (!kept) end('Your session has ended: sign in again.');
  return kept;
}

function end(message) {
  clearTimeout(timer);
  session = null;
  notice = message;
  sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn());
}

function set(next) {
  session = next;
  sessionStorage.setItem(KEY, JSON.stringify(session));
  schedule();
  listeners.forEach((fn) => fn());
}

function schedule(delay) {
  clearTimeout(timer);
  const due = delay ?? Math.max(1_000, session.expiresAt - Date.now() - REFRESH_AHEAD_MS);
  timer = setTimeout(() => refresh(), due);
}

function fromResult(result, refreshToken) {
  const claims = decode(result.AccessToken);
  return {
    accessToken: result.AccessToken,
    idToken: result.IdToken,
    refreshToken: result.RefreshToken || refreshToken,
    expiresAt: claims.exp ? claims.exp * 1000 : Date.now() + result.ExpiresIn * 1000,
    username: claims.username || claims['cognito:username'] || claims.sub,
    roles: (claims['cognito:groups'] || []).filter((group) => ROLES.includes(group)),
  };
}

function highestRole(roles) {
  return [...ROLES].reverse().find((role) => roles.includes(role)) || '';
}

/** A JWT's claims, for showing who is signed in: the gateway verifies the signature, the console never trusts it. */
export function decode(jwt) {
  const part = jwt.split('.')[1] || '';
  const bytes = Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

async function cognito(action, body) {
  let response;
  try {
    response = await fetch(`${config.cognito.endpoint}/`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new Error(`The sign-in service at ${config.cognito.endpoint} did not answer: check the connection.`);
  }
  const reply = await response.json().catch(() => ({}));
  if (!response.ok) {
    const kind = String(reply.__type || '').split('#').pop();
    const words = {
      NotAuthorizedException: 'The user name or password is wrong.',
      UserNotFoundException: 'The user name or password is wrong.',
      UserNotConfirmedException: 'This user is not confirmed yet.',
      PasswordResetRequiredException: 'This user must reset the password first.',
      TooManyRequestsException: 'Too many attempts: wait a minute and try again.',
    };
    throw new AuthError(words[kind] || reply.message || `Sign-in failed (${response.status}).`);
  }
  return reply;
}
