import type { Dispatcher } from 'undici';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import dispatcherRequest from 'undici/lib/api/api-request.js';

/**
 * The part of undici a step program needs to talk HTTP: its connection pool
 * (Agent) and the promise-returning request API, each imported from its own
 * module. undici's index loads far more at start-up (fetch, WebSocket,
 * EventSource, the HTTP cache, mock agents); step bundles must not carry it
 * (src/build/step-bundle-rules.ts).
 */
export type Agent = InstanceType<typeof AgentClass>;
export type AgentOptions = ConstructorParameters<typeof AgentClass>[0];

/**
 * An undici Agent that speaks HTTP/1.1 only. undici 8 offers HTTP/2 by
 * default; registries and the Kubernetes API all speak HTTP/1.1, and
 * leaving h2 out keeps node:http2 (with tls, net and http) from loading at
 * every step's start-up: step bundles carry a stand-in for undici's h2 client.
 */
export function createAgent(options: AgentOptions = {}): Agent {
  return new AgentClass({ ...options, allowH2: false });
}
export type HttpResponseData = Dispatcher.ResponseData;

export interface HttpRequestOptions {
  method: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: Buffer | null;
  signal?: AbortSignal;
}

/** undici's `request(url, { dispatcher })`, for a URL that is already parsed. */
export function httpRequest(dispatcher: Dispatcher, url: URL, options: HttpRequestOptions): Promise<HttpResponseData> {
  return dispatcherRequest.call(dispatcher, {
    origin: url.origin,
    path: url.search ? `${url.pathname}${url.search}` : url.pathname,
    method: options.method,
    headers: options.headers ?? {},
    body: options.body ?? null,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
