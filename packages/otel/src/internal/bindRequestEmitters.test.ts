import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { installRequestEmitterBinding, setEmitterContext } from './bindRequestEmitters';

const key = createContextKey('request');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  installRequestEmitterBinding();
});
afterAll(() => context.disable());

test('listeners on req/res run in the request context; removal by the original listener works for on and once', async () => {
  const seen: unknown[] = [];
  const removed: number[] = [];
  const server = createServer((req, res) => {
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    const r = request({ port, host: '127.0.0.1', method: 'POST', path: '/a' }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    r.on('error', reject);
    r.end('body');
  });
  await new Promise((r) => setTimeout(r, 20));
  server.close();
  expect(removed).toEqual([1, 0]);
  expect(seen).toEqual(['end /a', 'twice /a', 'finish /a']);
});
