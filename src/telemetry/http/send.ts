import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { boundedText } from '../bounded-text.ts';

/**
 * One telemetry request with node's own http/https client, which costs
 * nothing to load until a sink is configured (the registry client's undici
 * is not in every step's bundle). No redirect is followed, no proxy or
 * credential is added, TLS is verified against the image's CA bundle
 * (NODE_USE_SYSTEM_CA), and the caller's signal bounds everything: DNS,
 * connect, TLS, upload and the answer.
 */
export interface SendRequest {
  method: 'PUT' | 'POST';
  headers: Record<string, string>;
  body: string;
  /** Aborts the request wherever it is; its reason is the deadline. */
  signal: AbortSignal;
  agent?: HttpAgent;
}

export interface SendAnswer {
  status: number;
  /** The start of a non-2xx answer's body, bounded and escaped, for the log line. */
  detail: string;
}

/** Bytes of an error answer kept for the message; the rest is discarded unread. */
const MAX_ERROR_BODY_BYTES = 1024;

/** A request that got no usable answer; `reason` is short, fixed text that is safe to print. */
export class SendFailure extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.reason = reason;
    this.name = 'SendFailure';
  }
}

export const USER_AGENT = 'hardened-tekton-catalog-telemetry';

export async function send(url: URL, request: SendRequest): Promise<SendAnswer> {
  const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  if (request.signal.aborted) throw new SendFailure(abortReason(request.signal));
  return new Promise<SendAnswer>((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: request.method,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)), 'user-agent': USER_AGENT },
        signal: request.signal,
        // Without an agent of the caller's, a connection of its own that closes after the answer: nothing lingers in a global pool.
        agent: request.agent ?? false,
      },
      (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          // Accepted: the body says nothing we need; drop it so the socket can be reused.
          response.resume();
          resolve({ status, detail: '' });
          return;
        }
        const chunks: Buffer[] = [];
        let kept = 0;
        const finish = () => resolve({ status, detail: boundedText(Buffer.concat(chunks).toString('utf8').trim(), 200) });
        response.on('data', (chunk: Buffer) => {
          if (kept >= MAX_ERROR_BODY_BYTES) return;
          chunks.push(chunk.subarray(0, MAX_ERROR_BODY_BYTES - kept));
          kept += Math.min(chunk.length, MAX_ERROR_BODY_BYTES - kept);
          if (kept >= MAX_ERROR_BODY_BYTES) response.destroy();
        });
        response.on('end', finish);
        response.on('close', finish);
        response.on('error', finish);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => reject(new SendFailure(request.signal.aborted ? abortReason(request.signal) : describeError(error))));
    req.end(request.body);
  });
}

function abortReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'aborted';
}

/** Error codes only: a library's message may carry anything. */
function describeError(error: NodeJS.ErrnoException): string {
  const code = typeof error.code === 'string' ? error.code : '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_)/.test(code) || code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS failed (${code})`;
      return code ? `request failed (${boundedText(code, 40)})` : 'request failed';
  }
}
