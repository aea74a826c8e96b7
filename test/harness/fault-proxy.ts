import { request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A loopback HTTP proxy in front of a test registry that injects faults:
 * error statuses (with Retry-After), truncated or swapped bodies, dropped
 * connections (the registry "stops" mid-push), redirects to another host,
 * delays and canned responses. Rules match on method and path and fire a
 * set number of times; everything else is forwarded unchanged, with the
 * Host header kept so the registry's Location URLs point back at the proxy.
 */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'truncate'; keepBytes: number }
  | { kind: 'swap'; body: Buffer }
  | { kind: 'drop' }
  | { kind: 'redirect'; location: (path: string) => string; status?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'respond'; status: number; body: Buffer; headers?: Record<string, string> };

export interface FaultRule {
  method?: string;
  path?: RegExp;
  fault: Fault;
  /** How many matching requests it applies to (default: all). */
  times?: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The fault applied, if any. */
  fault?: Fault['kind'];
}

export interface FaultProxy {
  /** "127.0.0.1:PORT" (or the bind address asked for). */
  host: string;
  requests: SeenRequest[];
  addRule(rule: FaultRule): void;
  clearRules(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string, options: { bind?: string } = {}): Promise<FaultProxy> {
  const bind = options.bind ?? '127.0.0.1';
  const rules: (FaultRule & { used: number })[] = [];
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const [targetHost, targetPort] = splitHost(target);

  const server: Server = createServer((request, response) => {
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    const rule = rules.find((r) => (r.times === undefined || r.used < r.times) && (r.method === undefined || r.method === method) && (r.path === undefined || r.path.test(path)));
    const seen: SeenRequest = { method, path, headers: request.headers };
    requests.push(seen);
    if (rule) {
      rule.used++;
      seen.fault = rule.fault.kind;
    }
    void handle(rule?.fault, request, response, path).catch(() => response.destroy());
  });

  async function handle(fault: Fault | undefined, request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'drop') {
      request.resume();
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      request.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      response.writeHead(fault.status, headers).end('{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}');
      return;
    }
    if (fault?.kind === 'redirect') {
      request.resume();
      response.writeHead(fault.status ?? 307, { location: fault.location(path) }).end();
      return;
    }
    if (fault?.kind === 'respond') {
      request.resume();
      response.writeHead(fault.status, { 'content-length': String(fault.body.byteLength), ...fault.headers }).end(request.method === 'HEAD' ? undefined : fault.body);
      return;
    }
    const upstream = httpRequest({ host: targetHost, port: targetPort, method: request.method, path, headers: request.headers });
    upstream.on('error', () => response.destroy());
    upstream.on('response', (answer) => {
      const headers = { ...answer.headers };
      if (fault?.kind === 'swap') {
        answer.resume();
        headers['content-length'] = String(fault.body.byteLength);
        response.writeHead(answer.statusCode ?? 502, headers).end(fault.body);
        return;
      }
      if (fault?.kind === 'truncate') {
        // Keep the original Content-Length, send fewer bytes, then cut the connection.
        response.writeHead(answer.statusCode ?? 502, headers);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          const room = fault.keepBytes - sent;
          if (room > 0) response.write(chunk.subarray(0, room));
          sent += chunk.byteLength;
          if (sent >= fault.keepBytes) {
            answer.destroy();
            response.socket?.destroy();
          }
        });
        answer.on('end', () => response.socket?.destroy());
        return;
      }
      response.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(response);
    });
    request.pipe(upstream);
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, bind, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `${bind}:${port}`,
    requests,
    addRule: (rule) => rules.push({ ...rule, used: 0 }),
    clearRules: () => {
      rules.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function splitHost(host: string): [string, number] {
  const colon = host.lastIndexOf(':');
  return [host.slice(0, colon), Number(host.slice(colon + 1))];
}
