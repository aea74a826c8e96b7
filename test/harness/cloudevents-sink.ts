import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A loopback CloudEvents sink (or a misbehaving one) for tests: it records
 * every request and answers as told: `accept` with 202, `fail` with 500,
 * `hang` never (it keeps the connection open and counts when the client
 * gives up and closes it).
 */
export type SinkBehaviour = 'accept' | 'fail' | 'hang';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestSink {
  url: string;
  received: ReceivedRequest[];
  /** Connections the client closed while the sink was still hanging. */
  closedByClient(): number;
  stop(): Promise<void>;
}

export async function startSink(behaviour: SinkBehaviour): Promise<TestSink> {
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let closedByClient = 0;
  let stopping = false;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (behaviour === 'accept') response.writeHead(202).end();
      else if (behaviour === 'fail') response.writeHead(500, { 'content-type': 'text/plain' }).end('sink exploded\n\u202e');
      // hang: never answer
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (!stopping) closedByClient++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/events`,
    received,
    closedByClient: () => closedByClient,
    async stop() {
      stopping = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
