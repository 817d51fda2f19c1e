"""The `eventlake` command: a thin layer over the flows and the warehouse functions."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from transforms.errors import EventlakeError

EXAMPLE_QUERY = ("SELECT period, count(*) AS articles, count(DISTINCT site) AS sites "
                 "FROM articles GROUP BY period ORDER BY period")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", metavar="DIR", default=None,
                        help="data directory (default: $EVENTLAKE_DATA or ./data)")
    common.add_argument("--config", metavar="FILE", default=None,
                        help="settings file (default: $EVENTLAKE_CONFIG or config/eventlake.toml)")
    parser = argparse.ArgumentParser(prog="eventlake", parents=[common],
                                     description="News articles to a warehouse of political actors and events.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="ingest files and folders into the warehouse")
    run.add_argument("paths", nargs="*", metavar="PATH",
                     help=".html/.htm/.txt/.jsonl files (also .gz) or folders; default: the bundled sample corpus")
    run.add_argument("--example", action="store_true", help="print an example query and its result after the run")
    run.add_argument("--reprocess", action="store_true",
                     help="extract again from articles already stored (after changing the model or dictionaries)")

    sql = commands.add_parser("sql", parents=[common], help="run a SQL query over the warehouse views")
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("--as-of", metavar="VERSION|TIMESTAMP", type=_as_of,
                     help="query the tables as they were: a Delta version of each table (see `eventlake "
                          "history`) or a time (2024-05-01T12:00:00Z)")

    history = commands.add_parser("history", parents=[common], help="list the warehouse's commits with their run ids")
    history.add_argument("--limit", type=int, default=50, metavar="N", help="newest N commits (default 50)")
    history.add_argument("--format", choices=("table", "csv", "json"), default="table")

    compact = commands.add_parser("compact", parents=[common],
                                  help="merge small files, then delete files older versions no longer need")
    compact.add_argument("--retention-hours", type=float, default=None, metavar="H",
                         help="keep files that versions of the last H hours need (default: from the settings, 168)")

    commands.add_parser("migrate", parents=[common], help="convert a warehouse in the old Parquet layout to Delta tables")

    extract = commands.add_parser("extract", parents=[common],
                                  help="clean and extract JSONL records to stdout (no warehouse writes)")
    extract.add_argument("input", metavar="IN.jsonl|-")

    nightly = commands.add_parser("nightly", parents=[common],
                                  help="fetch and load new articles from feeds, sitemaps and URL lists")
    nightly.add_argument("--feed", action="append", metavar="URL", dest="feeds",
                         help="RSS or Atom feed (repeatable); default: the feeds in the sources file")
    nightly.add_argument("--sitemap", action="append", metavar="URL", dest="sitemaps",
                         help="news sitemap or sitemap index (repeatable)")
    nightly.add_argument("--urls", action="append", metavar="FILE", dest="url_lists",
                         help="text file with one article URL per line (repeatable)")
    nightly.add_argument("--allow-private", action="store_true", default=None,
                         help="fetch URLs that resolve to private, loopback or link-local addresses")

    backfill = commands.add_parser("backfill", parents=[common],
                                   help="load WARC archives and folders, skipping archives already finished")
    backfill.add_argument("sources", nargs="*", metavar="SOURCE",
                          help="WARC file (.warc, .warc.gz), glob pattern (quote it) or folder; "
                               "default: the archives and folders in the sources file")
    backfill.add_argument("--since", type=_date, metavar="DATE", help="first WARC-Date to load (YYYY-MM-DD)")
    backfill.add_argument("--until", type=_date, metavar="DATE", help="last WARC-Date to load (YYYY-MM-DD)")

    commands.add_parser("serve", parents=[common],
                        help="serve the nightly (scheduled) and backfill deployments on a Prefect server")

    export = commands.add_parser("export", parents=[common], help="write the events table in another layout")
    export.add_argument("--format", choices=("gdelt",), default="gdelt")
    export.add_argument("--out", metavar="FILE", help="output file (default: stdout)")
    export.add_argument("--header", action="store_true", help="write a header row (GDELT's files have none)")

    evaluate = commands.add_parser("eval", parents=[common], help="score extraction against a gold JSONL file")
    evaluate.add_argument("gold", metavar="GOLD.jsonl")
    evaluate.add_argument("--kind", choices=("events", "actors", "extraction"),
                          help="what the gold file annotates (default: guessed from its first record)")
    evaluate.add_argument("--input", metavar="IN.jsonl", help="inputs, when the gold file holds no texts")
    return parser


def _date(value: str):
    from datetime import date
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _as_of(value: str):
    """A version number, or an ISO time (UTC when no zone is given)."""
    from datetime import datetime, timezone
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a version number nor a time "
                                         "(YYYY-MM-DDTHH:MM:SSZ)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _settings(args):
    from flows.settings import load_settings
    return load_settings(args.config, args.data)


def cmd_run(args) -> int:
    from flows.ingest import run_ingest
    settings = _settings(args)
    summary = run_ingest(args.paths or None, args.config, settings.warehouse.location, args.reprocess)
    counts = ", ".join(f"{k} {summary[k]}" for k in ("read", "loaded", "unchanged", "duplicate", "skipped", "rejected"))
    print(f"eventlake run {summary['run_id']} into {summary['data_dir']}: {counts}")
    if summary["rejected"]:
        print(f"warning: {summary['rejected']} input(s) rejected; see them with: "
              f"eventlake sql \"SELECT input, step, reason FROM rejects\"", file=sys.stderr)
    if args.example:
        from warehouse.views import format_rows, run_query
        print(f"\nexample query: {EXAMPLE_QUERY}")
        print(format_rows(*run_query(settings.warehouse.location, EXAMPLE_QUERY,
                                          storage_options=settings.warehouse.storage_options), "table"))
    if summary["read"] == 0:
        print("error: no input could be read", file=sys.stderr)
        return 1
    return 0


def cmd_sql(args) -> int:
    from warehouse.views import format_rows, run_query
    w = _settings(args).warehouse
    print(format_rows(*run_query(w.location, args.query, args.as_of, w.storage_options), args.format))
    return 0


def cmd_history(args) -> int:
    from warehouse.views import format_rows
    commits = _settings(args).warehouse.open().history(args.limit)
    columns = ["timestamp", "table", "version", "operation", "run_id"]
    print(format_rows(columns, [tuple(c[k] for k in columns) for c in commits], args.format))
    return 0


def cmd_compact(args) -> int:
    w = _settings(args).warehouse
    warehouse = w.open()
    retention = w.compact_retention_hours if args.retention_hours is None else args.retention_hours
    with warehouse.lock("compact"):
        report = warehouse.compact(retention)
        from warehouse.views import write_views_script
        write_views_script(warehouse)
    for table, figures in report.items():
        print(f"{table}: {figures['files_before']} files -> {figures['files_after']}, "
              f"{figures['deleted']} deleted")
    return 0


def cmd_migrate(args) -> int:
    warehouse = _settings(args).warehouse.open()
    with warehouse.lock("migrate"):
        pass  # taking the lock converts what is in the old layout (see Warehouse.lock)
    print(f"{warehouse.uri}: every table is a Delta table")
    return 0


def cmd_extract(args) -> int:
    from flows.extract import extract_lines
    settings = _settings(args)
    if args.input == "-":
        lines, name = sys.stdin, "stdin"
    else:
        path = Path(args.input)
        if not path.is_file():
            print(f"error: {args.input}: extract: no such file; pass a JSONL file or - for stdin", file=sys.stderr)
            return 2
        lines, name = open(path, encoding="utf-8", errors="replace"), str(path)
    out = sys.stdout
    for record in extract_lines(lines, settings, name):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
    return 0


def _print_summary(command: str, summary: dict, extra: tuple[str, ...]) -> int:
    counts = ", ".join(f"{k} {summary[k]}" for k in ("read", "loaded", "unchanged", "duplicate", "skipped",
                                                    "rejected", *extra))
    print(f"eventlake {command} {summary['run_id']} into {summary['data_dir']}: {counts}")
    if summary["rejected"]:
        print(f"warning: {summary['rejected']} input(s) rejected; see them with: "
              f"eventlake sql \"SELECT input, step, reason FROM rejects\"", file=sys.stderr)
    return 0


def cmd_nightly(args) -> int:
    from flows.nightly import run_nightly
    settings = _settings(args)
    summary = run_nightly(args.feeds, args.sitemaps, args.url_lists, args.allow_private, args.config,
                          settings.warehouse.location)
    return _print_summary("nightly", summary, ("feeds_read", "feeds_not_modified", "feeds_failed",
                                               "new_links", "fetched", "fetch_failed"))


def cmd_backfill(args) -> int:
    from flows.backfill import run_backfill
    settings = _settings(args)
    summary = run_backfill(args.since, args.until, args.sources or None, args.config,
                           settings.warehouse.location)
    return _print_summary("backfill", summary, ("archives_read", "archives_skipped", "archives_failed", "records"))


def cmd_serve(args) -> int:
    from flows.serve import serve
    from flows.settings import DEFAULT_CONFIG
    settings = _settings(args)
    config = Path(args.config or os.environ.get("EVENTLAKE_CONFIG") or DEFAULT_CONFIG).resolve()
    serve(settings, config)
    return 0


def cmd_export(args) -> int:
    from warehouse.export import write_gdelt
    from warehouse.views import connect
    settings = _settings(args)
    connection = connect(settings.warehouse.location, storage_options=settings.warehouse.storage_options)
    try:
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                count = write_gdelt(connection, handle, args.header)
            print(f"wrote {count} events to {args.out}", file=sys.stderr)
        else:
            write_gdelt(connection, sys.stdout, args.header)
    finally:
        connection.close()
    return 0


def cmd_eval(args) -> int:
    from flows.evaluate import evaluate
    settings = _settings(args)
    gold = Path(args.gold)
    if not gold.is_file():
        print(f"error: {args.gold}: eval: no such file; pass a gold JSONL file", file=sys.stderr)
        return 2
    result = evaluate(gold, settings, args.kind, Path(args.input) if args.input else None)
    print(json.dumps(result, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Arrow's default mimalloc pool keeps what each partition rewrite allocated, so a long
    # backfill's memory crept up with the partition sizes; the system allocator gives it back.
    # Set before pyarrow is first imported; worker processes and served flow runs inherit it.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    handler = {"run": cmd_run, "sql": cmd_sql, "extract": cmd_extract, "nightly": cmd_nightly,
               "backfill": cmd_backfill, "serve": cmd_serve, "export": cmd_export, "eval": cmd_eval,
               "history": cmd_history, "compact": cmd_compact, "migrate": cmd_migrate}[args.command]
    try:
        return handler(args)
    except BrokenPipeError:
        # The reader went away (`eventlake export | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except EventlakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
