import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Context, context, createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { RPCType, setRPCMetadata } from '@opentelemetry/core';
import { installRequestEmitterBinding, setCloseHook, setEmitterContext } from './bindRequestEmitters';

const key = createContextKey('request');
// The repository's express (5) and on-finished, as an app would have them.
const fromRepo = createRequire(join(__dirname, '..', '..', '..', '..', 'package.json'));

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  installRequestEmitterBinding();
});
afterAll(() => context.disable());

/** A request context as the server instrumentation builds it: a span and the RPC metadata. */
function requestContext(spanId: string): Context {
  const span = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId, traceFlags: 1 });
  return setRPCMetadata(trace.setSpan(ROOT_CONTEXT, span), { type: RPCType.HTTP, span });
}
const activeSpanId = () => trace.getSpanContext(context.active())?.spanId;

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** POSTs `body` 50 ms after the headers, so its events come from the socket, not the handler. */
function postLate(server: Server, path: string, body: string, headers = {}): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const r = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path,
        headers: { 'transfer-encoding': 'chunked', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve(text));
      },
    );
    r.on('error', reject);
    r.flushHeaders();
    setTimeout(() => r.end(body), 50);
  });
}

test('listeners on req/res run in the request context; removal by the original listener works for on and once', async () => {
  const seen: unknown[] = [];
  const removed: number[] = [];
  const server = await listen((req, res) => {
    // Added before the context is attached: delivered in it all the same.
    res.once('finish', () => seen.push(`early ${String(context.active().getValue(key))}`));
    const ctx = ROOT_CONTEXT.setValue(key, req.url);
    setEmitterContext(req, ctx);
    setEmitterContext(res, ctx);
    const never = () => seen.push('removed listener ran');
    const neverOnce = () => seen.push('removed once listener ran');
    req.on('data', never);
    req.once('end', neverOnce);
    req.on('data', () => {});
    req.removeListener('data', never);
    req.off('end', neverOnce);
    removed.push(req.listenerCount('data'), req.listenerCount('end'));
    // The same listener twice: one removal leaves one registration, as plain EventEmitter does.
    const twice = () => seen.push(`twice ${String(context.active().getValue(key))}`);
    res.on('finish', twice);
    res.on('finish', twice);
    res.removeListener('finish', twice);
    res.once('finish', () => seen.push(`finish ${String(context.active().getValue(key))}`));
    req.on('end', () => {
      seen.push(`end ${String(context.active().getValue(key))}`);
      res.end('ok');
    });
  });
  await postLate(server, '/a', 'body');
  await new Promise((r) => setTimeout(r, 20));
  server.close();
  expect(removed).toEqual([1, 0]);
  expect(seen).toEqual(['end /a', 'early /a', 'twice /a', 'finish /a']);
});

test("express: the JSON body parser, a raw 'data' listener, on-finished and a 'finish' listener see the request's span", async () => {
  const express = fromRepo('express') as typeof import('express');
  const onFinished = fromRepo('on-finished') as (res: ServerResponse, cb: () => void) => void;
  const seen: Record<string, string | undefined> = {};
  const app = express();
  app.use((req, res, next) => {
    // body-parser and on-finished carry the caller's context themselves (AsyncResource); plain
    // listeners like these depend on the binding.
    req.on('data', () => {
      seen.data ??= activeSpanId();
    });
    res.on('finish', () => {
      seen.finish = activeSpanId();
    });
    onFinished(res, () => {
      seen.onFinished = activeSpanId();
    });
    next();
  });
  app.use(express.json());
  app.post('/items', (req, res) => {
    seen.handler = activeSpanId();
    res.json(req.body);
  });
  const server = await listen((req, res) => {
    const ctx = requestContext('1'.repeat(16));
    setEmitterContext(req, ctx);
    setEmitterContext(res, ctx);
    // As the server instrumentation does: the app starts in the request's context.
    context.with(ctx, () => app(req, res));
  });
  const reply = await postLate(server, '/items', '{"a":1}', { 'content-type': 'application/json' });
  await new Promise((r) => setTimeout(r, 20));
  server.close();
  expect(JSON.parse(reply)).toEqual({ a: 1 });
  const id = '1'.repeat(16);
  expect(seen).toEqual({ data: id, handler: id, finish: id, onFinished: id });
});

test("an event emitted inside the request's own child context keeps that context; one emitted from another request's context gets its own request's", async () => {
  const seen: string[] = [];
  let held: { req: IncomingMessage; res: ServerResponse } | undefined;
  const server = await listen((req, res) => {
    const id = req.url === '/a' ? 'a' : 'b';
    const ctx = requestContext(id.repeat(16));
    setEmitterContext(req, ctx);
    setEmitterContext(res, ctx);
    req.on('custom', (from: string) => seen.push(`${id} from ${from}: ${activeSpanId()}`));
    req.resume();
    // As the server instrumentation does: the handler runs in the request's context.
    context.with(ctx, () => {
      if (id === 'a') {
        // A child span of request a, active while its handler emits synchronously: a plain
        // emitter would hand the listener this context, and so does the binding.
        const child = trace.wrapSpanContext({
          traceId: 'a'.repeat(32),
          spanId: 'c'.repeat(16),
          traceFlags: 1,
        });
        context.with(trace.setSpan(ctx, child), () => req.emit('custom', 'a child'));
        held = { req, res };
        return;
      }
      // Request b's handler emits on request a (a coalescing cache answering both): request
      // a's listeners still run in request a's context, not b's.
      held?.req.emit('custom', 'b');
      held?.res.end('a');
      res.end('b');
    });
  });
  const a = postLate(server, '/a', 'x');
  await new Promise((r) => setTimeout(r, 150));
  await postLate(server, '/b', 'y');
  await a;
  server.close();
  expect(seen).toEqual([`a from a child: ${'c'.repeat(16)}`, `a from b: ${'a'.repeat(16)}`]);
});

test('setCloseHook runs once, when the response closes (answered or aborted), before its listeners', async () => {
  const order: string[] = [];
  let aborted: () => void = () => {};
  const abortedClosed = new Promise<void>((r) => {
    aborted = r;
  });
  const server = await listen((req, res) => {
    const tag = req.url ?? '';
    setCloseHook(res, () => order.push(`hook ${tag}`));
    let again = tag === '/ok';
    res.on('close', () => {
      order.push(`listener ${tag}`);
      // A second 'close' (which a stream never emits, but an app may) does not run the hook again.
      if (again) {
        again = false;
        res.emit('close');
      }
      if (tag === '/abort') aborted();
    });
    if (tag === '/ok') res.end('ok');
    // '/abort' is never answered: the client goes away.
  });
  try {
    const { port } = server.address() as AddressInfo;
    const text = await new Promise<string>((resolve, reject) => {
      request({ port, host: '127.0.0.1', path: '/ok', agent: false }, (res) => {
        let t = '';
        res.on('data', (d) => {
          t += d;
        });
        res.on('end', () => resolve(t));
      })
        .on('error', reject)
        .end();
    });
    expect(text).toBe('ok');
    const r = request({ port, host: '127.0.0.1', path: '/abort', agent: false });
    r.on('error', () => {});
    r.end();
    await new Promise((res) => setTimeout(res, 50));
    r.destroy();
    await abortedClosed;
    expect(order.filter((o) => o.endsWith('/ok'))).toEqual(['hook /ok', 'listener /ok', 'listener /ok']);
    expect(order.filter((o) => o.endsWith('/abort'))).toEqual(['hook /abort', 'listener /abort']);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
