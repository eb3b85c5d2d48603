import Module from 'node:module';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { OtelConfig } from '../readConfig';
import { isOwnRequest } from './asOwnRequest';
import type { Diag } from './createDiag';
import {
  type Activated,
  CATALOG,
  type CatalogEntry,
  type InstrumentationContext,
  isIgnoredPath,
} from './instrumentationCatalog';
import { isInstalled, loadOptional } from './loadOptional';
import { redisStatement } from './redisStatement';

type LoadFn = (request: string, parent: unknown, isMain: boolean) => unknown;
type ModuleInternals = { _load: LoadFn; prototype: { require: (id: string) => unknown } };

export type ActiveInstrumentations = {
  /** Names enabled by configuration (armed: they activate when their module loads). */
  readonly enabled: string[];
  /** Names actually loaded so far. */
  active(): string[];
  disable(): void;
};

/**
 * Arms the enabled instrumentations. `lazy` (the CommonJS preload) loads each one when its
 * target module is first required, so unused instrumentations cost nothing; `eager` (ESM
 * preload, programmatic start) loads those whose target is installed right away, because
 * ESM imports do not pass through require.
 */
export function activateInstrumentations(
  config: OtelConfig,
  diag: Diag,
  mode: 'lazy' | 'eager',
  opts: { customSampler?: boolean } = {},
): ActiveInstrumentations {
  const ctx: InstrumentationContext = {
    ignorePaths: config.ignorePaths,
    samplerReadsAttributes: opts.customSampler === true,
    spanDetail: config.spanDetail,
  };
  const loaded = new Map<string, Activated>();
  const cleanups: Array<() => void> = [];

  if (config.instrumentations.mode === 'all') {
    const names = loadUpstreamBundle(config, diag, loaded);
    if (names) {
      return {
        enabled: names,
        active: () => [...loaded.keys()],
        disable: () => {
          for (const i of loaded.values()) i.disable();
        },
      };
    }
  }

  const activate = (entry: CatalogEntry): Activated | undefined => {
    const existing = loaded.get(entry.name);
    if (existing) return existing;
    try {
      const inst = entry.create(ctx);
      loaded.set(entry.name, inst);
      diag.debug(`instrumentation ${entry.name} active`);
      return inst;
    } catch (err) {
      diag.warnOnce(
        `instrumentation:${entry.name}`,
        `instrumentation ${entry.name} could not be loaded (${(err as Error).message}); continuing without it.`,
      );
      return undefined;
    }
  };

  const entries = CATALOG.filter((e) => config.instrumentations.enabled.includes(e.name));
  const triggers = new Map<string, CatalogEntry>();

  for (const entry of entries) {
    if (entry.name === 'runtime-node') {
      // Deferred by one tick: a script that ends on its first tick has no runtime worth
      // measuring, and the metrics SDK then never loads at all.
      const t = setTimeout(() => activate(entry), 0);
      t.unref();
      cleanups.push(() => clearTimeout(t));
      continue;
    }
    if (entry.name === 'undici' && mode === 'lazy') armFetch(() => activate(entry), cleanups);
    if (mode === 'eager') {
      if (!entry.installed || entry.installed.some(isInstalled)) activate(entry);
      continue;
    }
    for (const t of entry.triggers) triggers.set(t, entry);
  }

  if (triggers.size > 0) {
    const M = Module as unknown as ModuleInternals;
    const original = M._load;
    const wrapped: LoadFn = function (this: unknown, request, parent, _isMain) {
      const entry = triggers.size > 0 ? triggers.get(request) : undefined;
      if (entry !== undefined) {
        for (const t of entry.triggers) triggers.delete(t);
        const requireBefore = M.prototype.require;
        activate(entry);
        // The instrumentation installed require-in-the-middle just now, after this require
        // started: go round again through the patched require so the module gets patched.
        const p = parent as { require?: (id: string) => unknown } | undefined;
        if (M.prototype.require !== requireBefore && p && typeof p.require === 'function') {
          return p.require(request);
        }
      }
      // biome-ignore lint/complexity/noArguments: forwards the loader's exact arguments
      return original.apply(this, arguments as unknown as Parameters<LoadFn>);
    };
    M._load = wrapped;
    cleanups.push(() => {
      if (M._load === wrapped) M._load = original;
      triggers.clear();
    });
  }

  return {
    enabled: entries.map((e) => e.name),
    active: () => [...loaded.keys()],
    disable() {
      for (const c of cleanups) c();
      for (const i of loaded.values()) {
        try {
          i.disable();
        } catch {
          // best effort
        }
      }
    },
  };
}

/**
 * Node's global fetch is undici inside Node, so no require announces it. Wrap it once: the
 * first call loads the undici instrumentation (which subscribes to undici's diagnostics
 * channels before the request is created) and puts the original fetch back.
 */
function armFetch(activate: () => unknown, cleanups: Array<() => void>): void {
  const g = globalThis as { fetch?: (...args: unknown[]) => unknown };
  const original = g.fetch;
  if (typeof original !== 'function') return;
  const armed = function fetch(this: unknown, ...args: unknown[]) {
    if (g.fetch === armed) restore();
    activate();
    return original.apply(this, args);
  };
  const restore = () =>
    Object.defineProperty(globalThis, 'fetch', { value: original, writable: true, configurable: true });
  Object.defineProperty(globalThis, 'fetch', { value: armed, writable: true, configurable: true });
  cleanups.push(() => {
    if (g.fetch === armed) restore();
  });
}

type AutoModule = {
  getNodeAutoInstrumentations(config?: Record<string, unknown>): Instrumentation[];
};

function loadUpstreamBundle(
  config: OtelConfig,
  diag: Diag,
  loaded: Map<string, Activated>,
): string[] | undefined {
  let auto: AutoModule | undefined;
  try {
    auto = loadOptional<AutoModule>('@opentelemetry/auto-instrumentations-node');
  } catch (err) {
    diag.warn(
      `MEM0_OTEL_INSTRUMENTATIONS=all: loading the upstream bundle failed (${(err as Error).message}).`,
    );
  }
  if (!auto) {
    diag.warnOnce(
      'auto-bundle',
      'MEM0_OTEL_INSTRUMENTATIONS=all needs @opentelemetry/auto-instrumentations-node (npm install it); using the curated set.',
    );
    return undefined;
  }
  const ignorePaths = config.ignorePaths;
  // Upstream reads OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS itself; our safety settings still apply.
  const list = auto.getNodeAutoInstrumentations({
    '@opentelemetry/instrumentation-http': {
      ignoreIncomingRequestHook: (req: { url?: string }) => isIgnoredPath(req.url, ignorePaths),
      ignoreOutgoingRequestHook: isOwnRequest,
    },
    '@opentelemetry/instrumentation-pg': {
      enhancedDatabaseReporting: false,
      ignoreConnectSpans: config.spanDetail === 'lean',
    },
    ...(config.spanDetail === 'lean'
      ? {
          '@opentelemetry/instrumentation-express': {
            ignoreLayersType: ['middleware', 'router'] as Array<'middleware' | 'router'>,
          },
        }
      : {}),
    '@opentelemetry/instrumentation-redis': { dbStatementSerializer: redisStatement },
    '@opentelemetry/instrumentation-winston': { disableLogSending: false },
  });
  for (const i of list) loaded.set(i.instrumentationName.replace(/^@opentelemetry\/instrumentation-/, ''), i);
  return [...loaded.keys()];
}
