/** `--help` text of the CLI and of each command (kept beside each other so they stay consistent). */

const INPUT = `Input (one of):
  <file|glob>...             JSON log files (.gz too) or quoted globs ('logs/**/*.log');
                             read oldest first (by mtime). '-' or no file with piped input: stdin
  --loki <url>               read from Loki's query_range API instead (paginated)
    -q, --query <logql>      LogQL stream selector, e.g. '{service_name="memory-service"}' (required)
    --loki-limit <n>         entries per page (default 5000)
    --loki-header <k: v>     extra request header, repeatable (e.g. 'X-Scope-OrgID: ops')
  -f, --follow               keep reading appended lines (tail -F; Loki: poll) and print a
                             refreshed result every --refresh (default 10s) until Ctrl-C
    --poll-ms <ms>           how often follow mode looks for new lines (default 250)

Filters and format:
  --since <1h|ISO>           only records at/after this time (Loki default: 1h)
  --until <30m|ISO>          only records before this time
  --service <name>           only records of this service.name (repeatable)
  --json                     one JSON document on stdout instead of tables
  --fields <file>            YAML/JSON field-name overrides (see README "Field mapping")
  --max-line-bytes <n>       longer lines are skipped and counted (default 1048576)
  --timeout <ms>             HTTP timeout for Loki/Tempo (default 30000)
  --quiet                    no warnings on stderr
  -h, --help                 this help`;

export const MAIN_HELP = `mem0-logs — analyse mem0-stack JSON logs: correlate, error analytics, latency, alerts, reports

Usage: mem0-logs <command> [options] [file|glob|-]...

Commands:
  trace <id>     timeline of one request (trace_id or correlation_id); with --tempo, the span
                 waterfall from Tempo interleaved with its log lines
  errors         error counts by category/severity/code, top messages, trend, unclassified
                 errors, recovery rate from resilience events
  latency        p50/p90/p95/p99 per route, slowest requests, slow timed() operations
  alerts         evaluate threshold rules over a window; exit 1 when one fires (cron/CI)
  report         daily report (Markdown, or JSON) combining errors, latency and alerts

Run 'mem0-logs <command> --help' for the options of a command.

Exit codes: 0 ok · 1 alert firing (alerts) / nothing found (trace) · 2 bad arguments or
unreadable input · 3 Loki/Tempo unreachable or failing. Malformed lines never fail a run:
they are counted and skipped.`;

export const HELP: Record<string, string> = {
  trace: `Usage: mem0-logs trace <trace-id|correlation-id> [options] [file|glob|-]...

Prints every log line of one request in time order with the time since the first line and
since the previous one. With --tempo, fetches the trace from Tempo (/api/traces/<id>) and
prints the span tree as a waterfall with each log line under the span that emitted it.
Without Tempo (or when Tempo is down or does not have it), the log timeline alone is shown.
Exits 1 when neither logs nor Tempo know the id.

Options:
  --tempo <url>              Tempo base URL, e.g. http://localhost:3200
  --tempo-header <k: v>      extra header for Tempo, repeatable
  --limit <n>                keep at most n matching lines (default 10000)

${INPUT}`,
  errors: `Usage: mem0-logs errors [options] [file|glob|-]...

Error analytics: counts by error.category, error.severity and error.code with first/last
seen, top messages with ids, uuids and numbers masked, a trend per interval, unclassified
errors (classify() found no rule) called out, and the recovery rate from resilience events.

Options:
  --interval <5m|1h|auto>    trend bucket size (default auto: at most 48 rows)
  --top <n>                  rows in top lists (default 10)

${INPUT}`,
  latency: `Usage: mem0-logs latency [options] [file|glob|-]...

p50/p90/p95/p99 per route (method + route template) from request log lines, the slowest
requests with their correlation ids, and duration percentiles of timed() operations.

Options:
  --top <n>                  rows in the slowest lists (default 10)
  --route <text>             only routes/operations containing this text

${INPUT}`,
  alerts: `Usage: mem0-logs alerts [--rules rules.yaml] [options] [file|glob|-]...

Evaluates threshold rules over sliding windows (every step) and reports each rule's state at
the last window (ending at the newest record, or now with --now). Exits 1 when a rule is
firing, 0 otherwise. Without --rules, the shipped rules (same thresholds as the collector's
Prometheus/Loki rules) are used; print them with --print-rules.

Options:
  --rules <file>             YAML rules file (see README "Alert rules")
  --now                      the last window ends now (cron on live logs), not at the newest record
  --any                      exit 1 if a rule fired in any window, not only the last one
  --print-rules              print the effective rules file and exit

${INPUT}`,
  report: `Usage: mem0-logs report [options] [file|glob|-]...

A daily operations report combining errors, latency and alerts, as Markdown (default) or JSON.

Options:
  --format <md|json>         output format (default md; --json is the same as --format json)
  --out <file>               write the report to a file instead of stdout
  --title <text>             report title (default "Operations report <date>")
  --rules <file>             alert rules (default: the shipped rules)
  --now                      alert windows end now instead of at the newest record
  --interval <5m|1h|auto>    trend bucket size (default auto)
  --top <n>                  rows in top lists (default 10)

${INPUT}`,
};
