import { readFileSync } from 'node:fs';
import { arch, hostname, release, type, userInfo } from 'node:os';
import type { Attributes } from '@opentelemetry/api';
import type { Resource, ResourceDetector } from '@opentelemetry/resources';
// Deep import: the package index also loads its detectors, one of which pulls in node:crypto
// (and with it all of node's streams) at startup.
import { resourceFromAttributes } from '@opentelemetry/resources/build/src/ResourceImpl';
import type { OtelConfig } from '../readConfig';
import type { Diag } from './createDiag';
import { findPackageInfo } from './findPackageInfo';
import { loadOptional } from './loadOptional';
import { ownVersion } from './ownVersion';

const ARCH: Record<string, string> = { arm: 'arm32', ppc: 'ppc32', x64: 'amd64' };
const OS: Record<string, string> = {
  Windows_NT: 'windows',
  Darwin: 'darwin',
  Linux: 'linux',
  SunOS: 'solaris',
};

/** Opt-in detectors and the upstream packages that provide them (loaded only when asked). */
const OPTIONAL_DETECTORS: Record<string, { pkg: string; exports: string[] }> = {
  container: { pkg: '@opentelemetry/resource-detector-container', exports: ['containerDetector'] },
  alibaba: { pkg: '@opentelemetry/resource-detector-alibaba-cloud', exports: ['alibabaCloudEcsDetector'] },
  gcp: { pkg: '@opentelemetry/resource-detector-gcp', exports: ['gcpDetector'] },
  aws: {
    pkg: '@opentelemetry/resource-detector-aws',
    exports: [
      'awsEc2Detector',
      'awsEcsDetector',
      'awsEksDetector',
      'awsBeanstalkDetector',
      'awsLambdaDetector',
    ],
  },
  azure: {
    pkg: '@opentelemetry/resource-detector-azure',
    exports: ['azureAppServiceDetector', 'azureFunctionsDetector', 'azureVmDetector'],
  },
};

/**
 * Builds the resource synchronously from the environment, the application's package.json
 * and cheap local facts (host, os, process). Cloud detectors are never loaded unless
 * OTEL_NODE_RESOURCE_DETECTORS names them: their metadata lookups hang on closed networks.
 */
export function buildResource(
  config: OtelConfig,
  diag: Diag,
  overrides: { serviceName?: string; attributes?: Attributes } = {},
): Resource {
  const want = new Set(config.resourceDetectors);
  const all = want.has('all');
  const none = want.has('none');
  const has = (d: string) => !none && (all || want.has(d));

  const attrs: Attributes = {
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.version': '2.12.0',
    'telemetry.distro.name': '@mem0-stack/otel',
    'telemetry.distro.version': ownVersion(),
  };
  if (has('host')) {
    attrs['host.name'] = hostname();
    attrs['host.arch'] = ARCH[arch()] ?? arch();
    const id = readMachineId();
    if (id) attrs['host.id'] = id;
  }
  if (has('os')) {
    attrs['os.type'] = OS[type()] ?? type().toLowerCase();
    attrs['os.version'] = release();
  }
  if (has('process')) {
    attrs['process.pid'] = process.pid;
    attrs['process.executable.name'] = process.title;
    attrs['process.executable.path'] = process.execPath;
    // process.command_args is left out on purpose: command lines often carry secrets.
    if (process.argv[1]) attrs['process.command'] = process.argv[1];
    attrs['process.runtime.name'] = 'nodejs';
    attrs['process.runtime.version'] = process.versions.node;
    attrs['process.runtime.description'] = 'Node.js';
    try {
      attrs['process.owner'] = userInfo().username;
    } catch {
      // no passwd entry (some containers): skip
    }
  }
  if (has('serviceinstance')) attrs['service.instance.id'] = uuid4();

  const pkg = findPackageInfo();
  if (pkg?.version) attrs['service.version'] = pkg.version;
  if (process.env.NODE_ENV) attrs['deployment.environment.name'] = process.env.NODE_ENV;
  if (has('env')) Object.assign(attrs, config.resourceAttributes);
  if (overrides.attributes) Object.assign(attrs, overrides.attributes);
  attrs['service.name'] =
    overrides.serviceName ??
    (has('env') ? config.serviceName : undefined) ??
    (typeof attrs['service.name'] === 'string' ? attrs['service.name'] : undefined) ??
    pkg?.name ??
    `unknown_service:${process.title}`;

  let resource = resourceFromAttributes(attrs);
  const detectors = optionalDetectors(want, all, none, diag);
  if (detectors.length > 0) {
    // Detected cloud attributes may be asynchronous; exporters wait for them before sending.
    const { detectResources } =
      require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
    resource = detectResources({ detectors }).merge(resource);
  }
  return resource;
}

function optionalDetectors(want: Set<string>, all: boolean, none: boolean, diag: Diag): ResourceDetector[] {
  if (none) return [];
  const out: ResourceDetector[] = [];
  for (const [name, { pkg, exports }] of Object.entries(OPTIONAL_DETECTORS)) {
    if (!all && !want.has(name)) continue;
    let mod: Record<string, ResourceDetector> | undefined;
    try {
      mod = loadOptional<Record<string, ResourceDetector>>(pkg);
    } catch {
      mod = undefined;
    }
    if (mod) {
      for (const e of exports) if (mod[e]) out.push(mod[e]);
    } else {
      diag.warnOnce(
        `detector:${name}`,
        `OTEL_NODE_RESOURCE_DETECTORS asks for "${name}" but ${pkg} is not installed; skipping it (npm install ${pkg}).`,
      );
    }
  }
  return out;
}

function readMachineId(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(f, 'utf8').trim();
      if (id) return id;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** A random v4 UUID without loading node:crypto (an instance id needs uniqueness, not secrecy). */
function uuid4(): string {
  const hex: string[] = [];
  for (let i = 0; i < 32; i++) hex.push(Math.floor(Math.random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
