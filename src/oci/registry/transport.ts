import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request as undiciRequest } from 'undici';
import { CatalogError } from '../../errors.ts';
import { JsonShapeExceeded, JsonShapeGuard, type JsonShapeLimits } from './bounded-json.ts';
import { isLoopbackHost } from './reference.ts';

/**
 * One HTTP exchange with a registry (or its token server), with the safety
 * rules every call needs: TLS unless plain HTTP was asked for AND the host
 * is loopback; redirects followed by hand so credentials never reach another
 * origin; response bodies capped while they stream in (bytes, and for
 * JSON the shape: depth, array items, values), error bodies cut short; 429
 * and 5xx retried a bounded number of times with capped exponential backoff
 * that honours Retry-After.
 */
export interface TransportOptions {
  /** Allow http:// — refused anyway unless the host is loopback. */
  plainHttp?: boolean;
  /** How refusals name the plain-HTTP setting to the person who sees them: a flag, or a Task param. */
  plainHttpSetting?: string;
  /** Extra CA certificates (PEM) to trust for TLS, e.g. a private registry's. */
  ca?: string | Buffer;
  /** Timeout waiting for response headers, and between body chunks. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Total attempts for a retryable request (first try included). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails instead. */
  maxRetryAfterMs?: number;
  maxRedirects?: number;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** Sent only to the origin of `url`; dropped if a redirect leaves it. */
  authorization?: string;
  body?: Buffer;
  /** Safe to send again after a 429, 5xx or network error. */
  retryable: boolean;
  /** Bodies longer than this fail the call. */
  maxBytes: number;
  /** A 2xx body is JSON within these limits: checked as it streams, reading stops at the first value past one. */
  json?: JsonShapeLimits;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Where the response finally came from, after redirects. */
  url: URL;
  attempts: number;
  /** Set when the request gave `json` limits and the status was 2xx: whether the body is one well-formed JSON value. */
  jsonWellFormed?: boolean;
}

/** Says where a failure happened; the registry client fills it in. */
export interface CallContext {
  registry: string;
  repository?: string;
  operation: string;
}

export function describe(context: CallContext): string {
  const repository = context.repository === undefined ? '' : `, repository ${context.repository}`;
  return `registry ${context.registry}${repository}, ${context.operation}`;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** An error answer is only read for its message: the rest is cut off, not waited for. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class Transport {
  private readonly options: Required<Omit<TransportOptions, 'ca'>>;
  private readonly agent: Agent;
  private closed = false;

  constructor(options: TransportOptions = {}) {
    this.options = {
      plainHttp: options.plainHttp ?? false,
      plainHttpSetting: options.plainHttpSetting ?? '--plain-http',
      timeoutMs: options.timeoutMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      maxAttempts: Math.max(1, options.maxAttempts ?? 5),
      backoffBaseMs: options.backoffBaseMs ?? 250,
      backoffMaxMs: options.backoffMaxMs ?? 8_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      maxRedirects: options.maxRedirects ?? 5,
    };
    this.agent = new Agent({
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
      connectTimeout: this.options.connectTimeoutMs,
      connect: options.ca === undefined ? {} : { ca: options.ca },
    });
  }

  /** The scheme to reach a host with, or a refusal if plain HTTP would be needed where it is not allowed. */
  baseUrl(host: string, context: CallContext): URL {
    if (this.options.plainHttp) {
      this.assertPlainHttpAllowed(host, context);
      return new URL(`http://${host}`);
    }
    return new URL(`https://${host}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.close();
  }

  async send(request: HttpRequest, context: CallContext): Promise<HttpResponse> {
    let attempt = 0;
    for (;;) {
      attempt++;
      let response: HttpResponse;
      try {
        response = await this.followRedirects(request, context);
      } catch (error) {
        if (error instanceof CatalogError || !request.retryable || attempt >= this.options.maxAttempts) {
          throw wrapNetworkError(error, context, attempt);
        }
        await sleep(this.retryDelay(attempt, undefined, context));
        continue;
      }
      response.attempts = attempt;
      if (!isRetryableStatus(response.status) || !request.retryable || attempt >= this.options.maxAttempts) {
        return response;
      }
      await sleep(this.retryDelay(attempt, response.headers, context));
    }
  }

  get maxAttempts(): number {
    return this.options.maxAttempts;
  }

  /**
   * How long to wait before attempt `attempt + 1`: the server's Retry-After
   * when it sent one (refused if longer than allowed), else backoff.
   */
  retryDelay(attempt: number, headers: HttpResponse['headers'] | undefined, context: CallContext): number {
    const retryAfter = parseRetryAfter(headers?.['retry-after']);
    if (retryAfter !== undefined && retryAfter > this.options.maxRetryAfterMs) {
      throw new CatalogError(
        'REGISTRY_BUSY',
        `${describe(context)}: the registry asked to retry after ${Math.ceil(retryAfter / 1000)}s, longer than the ${Math.ceil(this.options.maxRetryAfterMs / 1000)}s allowed`,
        { hint: 'try again later' },
      );
    }
    return retryAfter ?? this.backoff(attempt);
  }

  private backoff(attempt: number): number {
    const exponential = this.options.backoffBaseMs * 2 ** (attempt - 1);
    const capped = Math.min(this.options.backoffMaxMs, exponential);
    // Jitter keeps parallel clients from retrying in lock step.
    return Math.round(capped / 2 + Math.random() * (capped / 2));
  }

  private async followRedirects(request: HttpRequest, context: CallContext): Promise<HttpResponse> {
    const origin = request.url.origin;
    let url = request.url;
    let method = request.method;
    let body = request.body;
    for (let hop = 0; ; hop++) {
      this.assertSchemeAllowed(url, context);
      const headers: Record<string, string> = { ...request.headers };
      // Credentials belong to the origin they were issued for, never to a host a redirect points at.
      if (request.authorization !== undefined && url.origin === origin) headers.authorization = request.authorization;
      if (body !== undefined) headers['content-length'] = String(body.byteLength);
      const response = await undiciRequest(url, {
        dispatcher: this.agent,
        method,
        headers,
        body: body ?? null,
      });
      const status = response.statusCode;
      if (REDIRECTS.has(status) && response.headers.location !== undefined) {
        // A redirect's body is never used: read at most a little of it, then drop the connection.
        await response.body.dump({ limit: MAX_ERROR_BODY_BYTES }).catch(() => {});
        if (hop >= this.options.maxRedirects) {
          throw new CatalogError('REGISTRY_REDIRECT', `${describe(context)}: more than ${this.options.maxRedirects} redirects`);
        }
        const location = headerValue(response.headers.location)!;
        const next = new URL(location, url);
        if (url.protocol === 'https:' && next.protocol !== 'https:') {
          throw new CatalogError('REGISTRY_REDIRECT', `${describe(context)}: refused a redirect from HTTPS to ${next.protocol}`);
        }
        if (status === 303) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      if (method === 'HEAD') return { status, headers: response.headers, body: Buffer.alloc(0), url, attempts: 1 };
      if (status < 200 || status > 299) {
        const prefix = await readPrefix(response, Math.min(request.maxBytes, MAX_ERROR_BODY_BYTES));
        return { status, headers: response.headers, body: prefix, url, attempts: 1 };
      }
      const guard = request.json === undefined ? undefined : new JsonShapeGuard(request.json);
      const content = await readCapped(response, request.maxBytes, context, guard);
      const answer: HttpResponse = { status, headers: response.headers, body: content, url, attempts: 1 };
      if (guard !== undefined) answer.jsonWellFormed = endJson(guard, context);
      return answer;
    }
  }

  private assertSchemeAllowed(url: URL, context: CallContext): void {
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:') {
      if (!this.options.plainHttp) {
        throw new CatalogError('REGISTRY_INSECURE', `${describe(context)}: refused plain HTTP to ${url.host}`, {
          hint: `registries are reached over TLS; plain HTTP is only for a loopback test registry, with ${this.options.plainHttpSetting}`,
        });
      }
      this.assertPlainHttpAllowed(url.host, context);
      return;
    }
    throw new CatalogError('REGISTRY_INSECURE', `${describe(context)}: refused URL scheme ${url.protocol}`);
  }

  private assertPlainHttpAllowed(host: string, context: CallContext): void {
    if (!isLoopbackHost(host)) {
      throw new CatalogError('REGISTRY_INSECURE', `${describe(context)}: plain HTTP is allowed only to loopback hosts, not ${host}`, {
        hint: `drop ${this.options.plainHttpSetting}; a remote registry must be reached over TLS`,
      });
    }
  }
}

type UndiciResponse = Awaited<ReturnType<typeof undiciRequest>>;

async function readCapped(response: UndiciResponse, maxBytes: number, context: CallContext, guard?: JsonShapeGuard): Promise<Buffer> {
  const declared = Number(headerValue(response.headers['content-length']) ?? NaN);
  const tooLarge = () =>
    new CatalogError('REGISTRY_RESPONSE_TOO_LARGE', `${describe(context)}: the response is larger than the ${maxBytes}-byte limit`, {
      hint: 'the registry sent more than this content may hold; it was not used',
    });
  // Destroying the body makes undici emit an abort error; we report our own instead.
  response.body.on('error', () => {});
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  let exceeded = false;
  let shape: JsonShapeExceeded | undefined;
  try {
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer;
      total += buffer.byteLength;
      if (total > maxBytes) {
        exceeded = true;
        break;
      }
      try {
        guard?.write(buffer);
      } catch (error) {
        if (!(error instanceof JsonShapeExceeded)) throw error;
        shape = error;
        break;
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (!exceeded && shape === undefined) throw error;
  }
  if (exceeded || shape !== undefined) {
    response.body.destroy();
    throw shape === undefined ? tooLarge() : shapeError(shape, context);
  }
  return Buffer.concat(chunks, total);
}

/** Up to `maxBytes` of a body; the rest is discarded and the connection dropped rather than read. */
async function readPrefix(response: UndiciResponse, maxBytes: number): Promise<Buffer> {
  response.body.on('error', () => {});
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer;
      const room = maxBytes - total;
      chunks.push(buffer.byteLength > room ? buffer.subarray(0, room) : buffer);
      total += Math.min(buffer.byteLength, room);
      if (total >= maxBytes) break;
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  response.body.destroy();
  return Buffer.concat(chunks, total);
}

function endJson(guard: JsonShapeGuard, context: CallContext): boolean {
  try {
    return guard.end();
  } catch (error) {
    if (error instanceof JsonShapeExceeded) throw shapeError(error, context);
    throw error;
  }
}

/** Too many items in a list is a long list; too deep or too many values is an oversized response. */
function shapeError(error: JsonShapeExceeded, context: CallContext): CatalogError {
  return new CatalogError(
    error.limit === 'maxArrayItems' ? 'REGISTRY_LIST_TOO_LONG' : 'REGISTRY_RESPONSE_TOO_LARGE',
    `${describe(context)}: the response was refused while reading: ${error.message}`,
    { hint: 'the registry sent more than this content may hold; it was not used' },
  );
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** Retry-After is either seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(raw: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = headerValue(raw)?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function wrapNetworkError(error: unknown, context: CallContext, attempts: number): CatalogError {
  if (error instanceof CatalogError) return error;
  const code = (error as { code?: string }).code;
  const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
  const what = timedOut ? 'timed out' : `failed (${code ?? (error instanceof Error ? error.name : 'network error')})`;
  return new CatalogError(
    timedOut ? 'REGISTRY_TIMEOUT' : 'REGISTRY_UNREACHABLE',
    `${describe(context)}: the request ${what} after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
    { hint: 'check the registry address and that it is up', cause: error },
  );
}
