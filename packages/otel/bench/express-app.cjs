// The express request benchmark's server (express 5, no database): the middleware shape of a
// typical JSON API (request id, an on-finished access logger, the JSON body parser, a router
// mounted under /api), so the request path's own cost dominates. Forked by
// expressRequest.cjs; answers its 'cpu' messages with this process's CPU time so far.
const { createRequire } = require('node:module');
const { join } = require('node:path');

// The repository's express 5 (a bare require from this package finds its express 4 devDependency).
const fromRepo = createRequire(join(__dirname, '..', '..', '..', 'package.json'));
const express = fromRepo('express');
const onFinished = fromRepo('on-finished');

const app = express();
let finished = 0;
app.use((req, res, next) => {
  res.setHeader('x-request-id', req.headers['x-request-id'] ?? 'none');
  next();
});
app.use((_req, res, next) => {
  onFinished(res, () => {
    finished++;
  });
  next();
});
app.use(express.json());
const api = express.Router();
api.post('/items/:id', (req, res) => {
  res.json({ id: Number(req.params.id), name: req.body?.name ?? null });
});
app.use('/api', api);

const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
process.on('message', (m) => {
  if (m === 'gc') {
    // A clean heap before each measured turn: no turn pays for an earlier turn's garbage.
    global.gc?.();
    process.send?.({ gc: true });
  } else if (m === 'ping') {
    // Wakes the event loop so callgrind reads its control commands; nothing to answer.
  } else if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ cpuMicros: u.user + u.system, finished });
  } else if (m === 'exit') {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  }
});
