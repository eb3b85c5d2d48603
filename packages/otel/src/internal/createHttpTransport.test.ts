import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { createHttpTransport } from './createHttpTransport';

const listen = async (server: Server | ReturnType<typeof createServer>): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
};
const close = (server: Server | ReturnType<typeof createServer>) =>
  new Promise((r) => server.close(() => r(undefined)));

const transportFor = (url: string, retry: () => boolean) =>
  createHttpTransport({
    url,
    headers: {},
    compression: 'none',
    contentType: 'application/x-protobuf',
    userAgent: 'test',
    retry,
  });

test('a kept-alive socket the collector closed while idle: the batch is sent again at once on a new socket', async () => {
  // Answers the first request on each connection and keeps it open; a second request on the same
  // connection gets a reset, as from a collector whose idle timeout closed it just as we wrote.
  let connections = 0;
  let answered = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    let served = false;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      if (!chunk.includes('\r\n\r\n')) return;
      if (served) {
        socket.resetAndDestroy();
        return;
      }
      served = true;
      answered++;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n');
    });
  });
  const url = await listen(server);
  // Retries are off (as while flushing at exit): only the stale-socket resend can deliver it.
  const transport = transportFor(url, () => false);
  try {
    expect((await transport.send(new Uint8Array([1]), 5000)).status).toBe('success');
    const second = await transport.send(new Uint8Array([2]), 5000);
    expect(second.status).toBe('success');
    expect({ connections, answered }).toEqual({ connections: 2, answered: 2 });
  } finally {
    transport.shutdown();
    for (const s of sockets) s.destroy();
    await close(server);
  }
});

test('a reset on a fresh socket is not resent at once: it is a failure (retries off)', async () => {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => {});
    socket.once('data', () => socket.resetAndDestroy());
  });
  const url = await listen(server);
  const transport = transportFor(url, () => false);
  try {
    const r = await transport.send(new Uint8Array([1]), 5000);
    expect(r.status).toBe('failure');
    expect(connections).toBe(1);
  } finally {
    transport.shutdown();
    await close(server);
  }
});

test('stopRetrying() during a backoff wait: the batch gets one last try at once instead of being dropped', async () => {
  let requests = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // The first answer asks for a 30 s wait (capped at 5 s by the transport).
      if (++requests === 1) res.writeHead(503, { 'retry-after': '30' }).end();
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  const url = await listen(server);
  let retrying = true;
  const transport = transportFor(url, () => retrying);
  try {
    const sent = transport.send(new Uint8Array([1]), 10_000);
    while (requests < 1) await new Promise((r) => setTimeout(r, 10));
    retrying = false;
    transport.stopRetrying();
    const outcome = await Promise.race([
      sent.then((r) => r.status),
      new Promise((r) => setTimeout(() => r('still waiting'), 4000).unref()),
    ]);
    expect(outcome).toBe('success');
    expect(requests).toBe(2);
  } finally {
    transport.shutdown();
    server.closeAllConnections();
    await close(server);
  }
});

test('shutdown() during a backoff wait ends it without another try', async () => {
  let requests = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(503, { 'retry-after': '30' }).end();
    });
  });
  const url = await listen(server);
  const transport = transportFor(url, () => true);
  try {
    const sent = transport.send(new Uint8Array([1]), 10_000);
    while (requests < 1) await new Promise((r) => setTimeout(r, 10));
    transport.shutdown();
    expect((await sent).status).toBe('failure');
    expect(requests).toBe(1);
  } finally {
    server.closeAllConnections();
    await close(server);
  }
});
