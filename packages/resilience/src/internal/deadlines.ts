// One shared, coarse deadline checker for every timeout and retry deadline in the process.
//
// Why: a setTimeout + AbortController per call costs microseconds (cockatiel's timeout ≈ 16 µs
// per call on our machines). Entries with the same duration are appended in start order, so
// each per-duration list is already sorted by deadline: registering is an O(1) append,
// finishing an O(1) unlink, and the single timer only ever looks at list heads. In a
// sequential workload the list is empty again before the next call, so the one timer is
// armed at most once per duration window; it is unref'd whenever nothing is pending, so it
// never holds a finished process open.

export interface DeadlineEntry {
  deadline: number;
  dPrev: DeadlineEntry | undefined;
  dNext: DeadlineEntry | undefined;
  dList: DeadlineList | undefined;
  /** Called once by the checker when the deadline passes while the entry is still tracked. */
  expire(): void;
}

export class DeadlineList {
  head: DeadlineEntry | undefined = undefined;
  tail: DeadlineEntry | undefined = undefined;
  constructor(readonly ms: number) {}
}

const lists = new Map<number, DeadlineList>();
let pending = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let timerAt = Number.POSITIVE_INFINITY;

/** Monotonic milliseconds. Read through the global each time so fake timers can replace it. */
export function now(): number {
  return performance.now();
}

/** The list for one duration; policies keep it so the hot path skips the map lookup. */
export function listFor(ms: number): DeadlineList {
  let l = lists.get(ms);
  if (l === undefined) {
    l = new DeadlineList(ms);
    lists.set(ms, l);
  }
  return l;
}

/** Starts tracking `entry`; it expires `list.ms` after `t`. */
export function track(list: DeadlineList, entry: DeadlineEntry, t: number): void {
  const deadline = t + list.ms;
  entry.deadline = deadline;
  entry.dList = list;
  entry.dNext = undefined;
  const tail = list.tail;
  entry.dPrev = tail;
  if (tail === undefined) list.head = entry;
  else tail.dNext = entry;
  list.tail = entry;
  if (++pending === 1 && timer !== undefined) timer.ref();
  // Re-arm when this deadline is earlier than the armed one (a shorter duration arrived), or
  // when the armed timer is long overdue (e.g. fake timers were uninstalled under it).
  if (timer === undefined || deadline < timerAt - 1 || t > timerAt + 1000) arm(deadline, t);
}

/** Stops tracking `entry` (idempotent). */
export function untrack(entry: DeadlineEntry): void {
  const list = entry.dList;
  if (list === undefined) return;
  entry.dList = undefined;
  const prev = entry.dPrev;
  const next = entry.dNext;
  if (prev === undefined) list.head = next;
  else prev.dNext = next;
  if (next === undefined) list.tail = prev;
  else next.dPrev = prev;
  entry.dPrev = undefined;
  entry.dNext = undefined;
  if (--pending === 0 && timer !== undefined) timer.unref();
}

function arm(at: number, t: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(tick, Math.max(1, Math.ceil(at - t)));
  if (pending === 0) timer.unref();
}

function tick(): void {
  timer = undefined;
  timerAt = Number.POSITIVE_INFINITY;
  const t = now();
  let next = Number.POSITIVE_INFINITY;
  for (const list of lists.values()) {
    for (let e = list.head; e !== undefined && e.deadline <= t; e = list.head) {
      untrack(e);
      try {
        e.expire();
      } catch {
        // An expiry must never stop the checker.
      }
    }
    const h = list.head;
    if (h !== undefined && h.deadline < next) next = h.deadline;
  }
  // An expiry listener may have armed the timer already (it started a new timed call).
  if (next < timerAt - 1) arm(next, t);
}

/** For tests: how many deadlines are being watched. */
export function pendingDeadlines(): number {
  return pending;
}
