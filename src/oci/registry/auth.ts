/**
 * The registry's `WWW-Authenticate` challenge and the scopes we ask a token
 * server for (Docker Registry token authentication).
 */
export type Challenge =
  | { scheme: 'basic'; realm?: string }
  | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

/** Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`; other schemes give undefined. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  const params = parseParams(match[2] ?? '');
  if (scheme === 'basic') return params.realm === undefined ? { scheme } : { scheme, realm: params.realm };
  if (scheme === 'bearer' && params.realm !== undefined) {
    const challenge: Challenge = { scheme, realm: params.realm };
    if (params.service !== undefined) challenge.service = params.service;
    if (params.scope !== undefined) challenge.scope = params.scope;
    return challenge;
  }
  return undefined;
}

function parseParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (const match of text.matchAll(pattern)) {
    const key = match[1]!.toLowerCase();
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
    if (!(key in params)) params[key] = value;
  }
  return params;
}

export type Action = 'pull' | 'push';

/** `repository:<name>:pull,push` — the resource scope format of the token spec. */
export function repositoryScope(repository: string, actions: readonly Action[]): string {
  const ordered = (['pull', 'push'] as const).filter((action) => actions.includes(action));
  return `repository:${repository}:${ordered.join(',')}`;
}
