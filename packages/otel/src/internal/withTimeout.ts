/**
 * `p`, or a rejection once `ms` pass first. The timer is unref'd: a pending export never keeps
 * the process alive by itself.
 * @example const outcome = await withTimeout(exporter.sendEncoded(body), 30_000);
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`export timed out after ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
