/**
 * The registry's `WWW-Authenticate` challenge and the scopes we ask a token
 * server for (Docker Registry token authentication).
 */
export type Challenge =
  | { scheme: 'basic'; realm?: string }
  | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

/** Real challenges are a few hundred bytes; a longer one is not parsed at all. */
export const MAX_CHALLENGE_CHARS = 4096;

/**
 * Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`;
 * other schemes, and headers longer than MAX_CHALLENGE_CHARS, give undefined.
 * One left-to-right pass: the header is the registry's to choose, so no
 * pattern here may backtrack over it.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined || header.length > MAX_CHALLENGE_CHARS) return undefined;
  const match = /^\s*([A-Za-z]+)(?:\s+|$)/.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  const params = parseParams(header.slice(match[0].length));
  if (params === undefined) return undefined;
  if (scheme === 'basic') return params.realm === undefined ? { scheme } : { scheme, realm: params.realm };
  if (scheme === 'bearer' && params.realm !== undefined) {
    const challenge: Challenge = { scheme, realm: params.realm };
    if (params.service !== undefined) challenge.service = params.service;
    if (params.scope !== undefined) challenge.scope = params.scope;
    return challenge;
  }
  return undefined;
}

const TOKEN_CHAR = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;

/** `key=value` or `key="quoted \"value\""` pairs separated by commas (RFC 9110 auth-param); undefined when malformed. */
function parseParams(text: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (i < text.length && TOKEN_CHAR.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  for (;;) {
    skipSpace();
    while (text[i] === ',') {
      i++;
      skipSpace();
    }
    if (i >= text.length) return params;
    const key = token().toLowerCase();
    if (key === '') return undefined;
    skipSpace();
    if (text[i] !== '=') return undefined;
    i++;
    skipSpace();
    let value: string;
    if (text[i] === '"') {
      i++;
      value = '';
      for (;;) {
        if (i >= text.length) return undefined;
        const ch = text[i++]!;
        if (ch === '"') break;
        if (ch === '\\') {
          if (i >= text.length) return undefined;
          value += text[i++]!;
        } else {
          value += ch;
        }
      }
    } else {
      // Unquoted: RFC 9110 says a token, but registries have sent bare URLs; stop at what ends a param.
      const start = i;
      while (i < text.length && !/[\s,"]/.test(text[i]!)) i++;
      value = text.slice(start, i);
    }
    // The first occurrence wins: a later duplicate cannot override the realm.
    if (!Object.hasOwn(params, key)) params[key] = value;
    skipSpace();
    if (i < text.length && text[i] !== ',') return undefined;
  }
}

export type Action = 'pull' | 'push';

/** `repository:<name>:pull,push` — the resource scope format of the token spec. */
export function repositoryScope(repository: string, actions: readonly Action[]): string {
  const ordered = (['pull', 'push'] as const).filter((action) => actions.includes(action));
  return `repository:${repository}:${ordered.join(',')}`;
}

/**
 * The scopes of a registry's 401 challenge that we are willing to add to a
 * token request: only repository scopes for a repository we already ask
 * about, with no action we did not ask for. A registry cannot use its
 * challenge to have our credentials mint a token for other repositories or
 * for `registry:catalog:*`.
 */
export function acceptableChallengeScopes(challengeScope: string | undefined, requested: readonly string[]): string[] {
  if (challengeScope === undefined) return [];
  const allowed = new Map<string, Set<string>>();
  for (const scope of requested) {
    const parsed = parseRepositoryScope(scope);
    if (parsed === undefined) continue;
    const actions = allowed.get(parsed.repository) ?? new Set<string>();
    for (const action of parsed.actions) actions.add(action);
    allowed.set(parsed.repository, actions);
  }
  const accepted: string[] = [];
  // A handful at most: a longer list is not a registry asking for what we asked.
  for (const scope of challengeScope.split(' ').slice(0, 8)) {
    const parsed = parseRepositoryScope(scope);
    const actions = parsed === undefined ? undefined : allowed.get(parsed.repository);
    if (parsed !== undefined && actions !== undefined && parsed.actions.every((action) => actions.has(action))) accepted.push(scope);
  }
  return accepted;
}

function parseRepositoryScope(scope: string): { repository: string; actions: string[] } | undefined {
  const match = /^repository:([a-z0-9._/-]{1,255}):([a-z,]{1,32})$/.exec(scope);
  if (!match) return undefined;
  const actions = match[2]!.split(',');
  if (actions.some((action) => action !== 'pull' && action !== 'push')) return undefined;
  return { repository: match[1]!, actions };
}
