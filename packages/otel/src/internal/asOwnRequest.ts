let depth = 0;

/**
 * Runs `fn`, which starts an HTTP request of the preload's own (an OTLP export), marked so the
 * HTTP client instrumentation leaves it alone (see {@link isOwnRequest}). The mark holds only
 * while `fn` runs: `http.request` consults the instrumentation's ignore hook synchronously.
 * @example const req = asOwnRequest(() => http.request(url, options, onResponse));
 */
export function asOwnRequest<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}

/**
 * True inside {@link asOwnRequest}: the request being started is the preload's own export.
 * Given to the HTTP instrumentation as `ignoreOutgoingRequestHook`. Without it, upstream's
 * instrumentation counts every export in the app's `http.client.request.duration` (it
 * records the metric even when tracing is suppressed) and binds a context to each export's
 * request and response.
 * @example new HttpInstrumentation({ ignoreOutgoingRequestHook: isOwnRequest });
 */
export function isOwnRequest(): boolean {
  return depth > 0;
}
