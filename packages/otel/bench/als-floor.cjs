// Reference preload for the throughput bench: the floor of any tracer that propagates context.
// Each request runs inside AsyncLocalStorage with a store of its own, as every OTel context
// manager on Node 20 does; no span, no metric, no export. No preload that traces can be faster.
const { AsyncLocalStorage } = require('node:async_hooks');
const als = new AsyncLocalStorage();
{
  const proto = require('node:http').Server.prototype;
  const emit = proto.emit;
  proto.emit = function (event, ...args) {
    if (event !== 'request') return emit.call(this, event, ...args);
    return als.run({ req: args[0] }, () => emit.call(this, event, ...args));
  };
}
