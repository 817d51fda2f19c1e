"""The `eventlake` command: a thin layer over the flows and the warehouse functions."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from flows.errors import one_line_errors
from flows.stopping import exit_code, stop_on_signals
from transforms.errors import EventlakeError

if TYPE_CHECKING:
    from datetime import date

    from flows.settings import Settings


def _options(default: object) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--data", metavar="DIR", default=default, help="data directory (default: $EVENTLAKE_DATA or ./data)"
    )
    options.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="settings file (default: $EVENTLAKE_CONFIG or config/eventlake.toml)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    # Both `eventlake --data X run` and `eventlake run --data X` work: the command's copy of the
    # options has no default of its own, so it cannot overwrite the value given before the command.
    common = _options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="eventlake",
        parents=[_options(None)],
        description="News articles to a warehouse of political actors and events.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="ingest files and folders into the warehouse")
    run.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=".html/.htm/.txt/.jsonl files (also .gz) or folders; default: the bundled sample corpus",
    )
    run.add_argument(
        "--example",
        action="store_true",
        help="after the run, show a few coded events and the events per month by QuadClass",
    )
    run.add_argument(
        "--reprocess",
        action="store_true",
        help="extract again from articles already stored (after changing the model or dictionaries)",
    )

    sql = commands.add_parser("sql", parents=[common], help="run a SQL query over the warehouse views")
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument(
        "--as-of",
        metavar="VERSION|TIMESTAMP",
        type=_as_of,
        help="query the tables as they were: a Delta version of each table (see `eventlake "
        "history`) or a time (2024-05-01T12:00:00Z)",
    )

    history = commands.add_parser("history", parents=[common], help="list the warehouse's commits with their run ids")
    history.add_argument("--limit", type=int, default=50, metavar="N", help="newest N commits (default 50)")
    history.add_argument("--format", choices=("table", "csv", "json"), default="table")

    compact = commands.add_parser(
        "compact", parents=[common], help="merge small files, then delete files older versions no longer need"
    )
    compact.add_argument(
        "--retention-hours",
        type=float,
        default=None,
        metavar="H",
        help="keep files that versions of the last H hours need (default: from the settings, 168)",
    )

    commands.add_parser(
        "migrate", parents=[common], help="convert a warehouse in the old Parquet layout to Delta tables"
    )

    extract = commands.add_parser(
        "extract", parents=[common], help="clean and extract JSONL records to stdout (no warehouse writes)"
    )
    extract.add_argument("input", metavar="IN.jsonl|-")
    extract.add_argument(
        "--all-events",
        action="store_true",
        help="also output events below events.min_confidence (each carries its confidence)",
    )

    nightly = commands.add_parser(
        "nightly", parents=[common], help="fetch and load new articles from feeds, sitemaps and URL lists"
    )
    nightly.add_argument(
        "--feed",
        action="append",
        metavar="URL",
        dest="feeds",
        help="RSS or Atom feed (repeatable); default: the feeds in the sources file",
    )
    nightly.add_argument(
        "--sitemap", action="append", metavar="URL", dest="sitemaps", help="news sitemap or sitemap index (repeatable)"
    )
    nightly.add_argument(
        "--urls",
        action="append",
        metavar="FILE",
        dest="url_lists",
        help="text file with one article URL per line (repeatable)",
    )
    nightly.add_argument(
        "--allow-private",
        action="store_true",
        default=None,
        help="fetch URLs that resolve to private, loopback or link-local addresses",
    )

    backfill = commands.add_parser(
        "backfill", parents=[common], help="load WARC archives and folders, skipping archives already finished"
    )
    backfill.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="WARC file (.warc, .warc.gz), glob pattern (quote it) or folder; "
        "default: the archives and folders in the sources file",
    )
    backfill.add_argument("--since", type=_date, metavar="DATE", help="first WARC-Date to load (YYYY-MM-DD)")
    backfill.add_argument("--until", type=_date, metavar="DATE", help="last WARC-Date to load (YYYY-MM-DD)")

    commands.add_parser(
        "serve", parents=[common], help="serve the nightly (scheduled) and backfill deployments on a Prefect server"
    )

    export = commands.add_parser("export", parents=[common], help="write the events table in another layout")
    export.add_argument(
        "--format",
        choices=("gdelt", "polecat"),
        default="gdelt",
        help="gdelt: GDELT 2.0 event table (TSV); polecat: POLECAT/PLOVER event fields (CSV)",
    )
    export.add_argument("--out", metavar="FILE", help="output file (default: stdout)")
    export.add_argument(
        "--header",
        action="store_true",
        help="write a header row (GDELT's files have none; the POLECAT CSV always has one)",
    )

    report = commands.add_parser(
        "report", parents=[common], help="write a self-contained HTML report of the events (charts, map, network)"
    )
    report.add_argument("--since", type=_date, metavar="DATE", help="first event date (YYYY-MM-DD)")
    report.add_argument("--until", type=_date, metavar="DATE", help="last event date (YYYY-MM-DD)")
    report.add_argument(
        "--country", type=str.upper, metavar="ISO3", help="only events with this country as source, target or location"
    )
    report.add_argument("--out", metavar="FILE", default="report.html", help="output file (default: report.html)")

    evaluate = commands.add_parser("eval", parents=[common], help="score extraction against a gold JSONL file")
    evaluate.add_argument("gold", metavar="GOLD.jsonl")
    evaluate.add_argument(
        "--kind",
        choices=("events", "actors", "extraction"),
        help="what the gold file annotates (default: guessed from its first record)",
    )
    evaluate.add_argument("--input", metavar="IN.jsonl", help="inputs, when the gold file holds no texts")
    return parser


def _date(value: str) -> date:
    from transforms.dates import parse_iso_date

    parsed = parse_iso_date(value) if len(value.strip()) == 10 else None
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)")
    return parsed


def _as_of(value: str) -> object:
    """A version number, or an ISO time (UTC when no zone is given)."""
    from datetime import datetime, timezone

    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a version number nor a time (YYYY-MM-DDTHH:MM:SSZ)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _settings(args: argparse.Namespace) -> Settings:
    from flows.settings import load_settings

    return load_settings(args.config, args.data)


def _missing_inputs(command: str, names: list[str]) -> list[str]:
    """Error lines when none of the named inputs exists (globs matching nothing included), checked
    before any Prefect server is started, so a typo costs no flow run. When some exist, the
    missing ones are rejects of the run, which goes on with the rest."""
    from flows.sources.warc import expand
    from transforms.records import Reject

    items = list(expand(names))
    rejects = [item for item in items if isinstance(item, Reject)]
    if not names or len(rejects) < len(items):
        return []
    return [
        f"error: no such file or directory: {item.input}"
        if item.reason == "no such file or folder"
        else f"error: {item.input}: {command}: {item.reason}"
        for item in rejects
    ]


def _refuse(errors: list[str]) -> int:
    for line in errors:
        print(line, file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    from flows.ingest import run_ingest

    settings = _settings(args)
    if errors := _missing_inputs("run", args.paths):
        return _refuse(errors)
    summary = run_ingest(args.paths or None, args.config, settings.warehouse.location, args.reprocess)
    counts = ", ".join(f"{k} {summary[k]}" for k in ("read", "loaded", "unchanged", "duplicate", "skipped", "rejected"))
    print(f"eventlake run {summary['run_id']} into {summary['data_dir']}: {counts}")
    if summary["rejected"]:
        print(
            f"warning: {summary['rejected']} input(s) rejected; see them with: "
            f'eventlake sql "SELECT input, step, reason FROM rejects"',
            file=sys.stderr,
        )
    _skipped_note(summary)
    if args.example:
        _first_look(settings)
    if summary["read"] == 0:
        print("error: no input could be read", file=sys.stderr)
        return 1
    return 0


def _first_look(settings: Settings) -> None:
    from warehouse.report import FIRST_LOOK
    from warehouse.views import format_rows, run_query

    for title, query in FIRST_LOOK:
        print(f"\n{title}:")
        w = settings.warehouse
        print(
            format_rows(
                *run_query(
                    w.location, query, storage_options=w.storage_options, min_confidence=settings.events.min_confidence
                ),
                "table",
            )
        )
    print(
        '\nmore: eventlake sql "SELECT * FROM events LIMIT 10", eventlake report --out report.html '
        "(CODEBOOK.md describes every column)"
    )


def _skipped_note(summary: dict) -> None:
    if summary.get("skipped"):
        print(
            f"note: {summary['skipped']} article(s) stored but skipped by the extractors; see why with: "
            f'eventlake sql "SELECT source_path, language, skipped_reason FROM articles '
            f'WHERE skipped_reason IS NOT NULL"',
            file=sys.stderr,
        )


def cmd_sql(args: argparse.Namespace) -> int:
    from warehouse.views import format_rows, run_query

    w = _settings(args).warehouse
    print(
        format_rows(
            *run_query(w.location, args.query, args.as_of, w.storage_options, _settings(args).events.min_confidence),
            args.format,
        )
    )
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from warehouse.views import format_rows

    commits = _settings(args).warehouse.open().history(args.limit)
    columns = ["timestamp", "table", "version", "operation", "run_id"]
    print(format_rows(columns, [tuple(c[k] for k in columns) for c in commits], args.format))
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    w = _settings(args).warehouse
    warehouse = w.open()
    retention = w.compact_retention_hours if args.retention_hours is None else args.retention_hours
    with warehouse.lock("compact"):
        report = warehouse.compact(retention)
        from warehouse.views import write_views_script

        write_views_script(warehouse, _settings(args).events.min_confidence)
    for table, figures in report.items():
        print(f"{table}: {figures['files_before']} files -> {figures['files_after']}, {figures['deleted']} deleted")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    warehouse = _settings(args).warehouse.open()
    with warehouse.lock("migrate"):
        pass  # taking the lock converts what is in the old layout (see Warehouse.lock)
    print(f"{warehouse.uri}: every table is a Delta table")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from flows.extract_command import extract_lines

    settings = _settings(args)
    if args.input == "-":
        handle, name = sys.stdin.buffer, "stdin"
    else:
        path = Path(args.input)
        if not path.is_file():
            print(f"error: {args.input}: extract: no such file; pass a JSONL file or - for stdin", file=sys.stderr)
            return 2
        handle, name = open(path, "rb"), str(path)
    out = sys.stdout
    with handle:
        for record in extract_lines(handle, settings, name, all_events=args.all_events):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
    return 0


def _print_summary(command: str, summary: dict, extra: tuple[str, ...]) -> int:
    counts = ", ".join(
        f"{k} {summary[k]}" for k in ("read", "loaded", "unchanged", "duplicate", "skipped", "rejected", *extra)
    )
    print(f"eventlake {command} {summary['run_id']} into {summary['data_dir']}: {counts}")
    if summary["rejected"]:
        print(
            f"warning: {summary['rejected']} input(s) rejected; see them with: "
            f'eventlake sql "SELECT input, step, reason FROM rejects"',
            file=sys.stderr,
        )
    _skipped_note(summary)
    return 0


def cmd_nightly(args: argparse.Namespace) -> int:
    from flows.nightly import _configured, run_nightly

    settings = _settings(args)
    _configured(settings, args.feeds, args.sitemaps, args.url_lists)  # none at all: an error, before a flow run
    if not (args.feeds or args.sitemaps) and (errors := _missing_inputs("nightly", args.url_lists or [])):
        return _refuse(errors)
    summary = run_nightly(
        args.feeds, args.sitemaps, args.url_lists, args.allow_private, args.config, settings.warehouse.location
    )
    return _print_summary(
        "nightly", summary, ("feeds_read", "feeds_not_modified", "feeds_failed", "new_links", "fetched", "fetch_failed")
    )


def cmd_backfill(args: argparse.Namespace) -> int:
    from flows.backfill import _configured, run_backfill

    settings = _settings(args)
    _configured(settings, args.sources, args.since, args.until)  # none at all: an error, before a flow run
    if errors := _missing_inputs("backfill", args.sources):
        return _refuse(errors)
    summary = run_backfill(args.since, args.until, args.sources or None, args.config, settings.warehouse.location)
    return _print_summary("backfill", summary, ("archives_read", "archives_skipped", "archives_failed", "records"))


def cmd_serve(args: argparse.Namespace) -> int:
    from flows.serve import serve
    from flows.settings import settings_path

    settings = _settings(args)
    config = settings_path(args.config).resolve()
    serve(settings, config)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse.export import write_gdelt, write_polecat
    from warehouse.views import connect

    settings = _settings(args)
    connection = connect(
        settings.warehouse.location,
        storage_options=settings.warehouse.storage_options,
        min_confidence=settings.events.min_confidence,
    )
    header = args.header or args.format == "polecat"
    write = write_polecat if args.format == "polecat" else write_gdelt
    try:
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                count = write(connection, handle, header)
            print(f"wrote {count} events to {args.out}", file=sys.stderr)
        else:
            write(connection, sys.stdout, header)
    finally:
        connection.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from warehouse.report import ReportFilter, write_report
    from warehouse.views import connect

    settings = _settings(args)
    connection = connect(
        settings.warehouse.location,
        storage_options=settings.warehouse.storage_options,
        min_confidence=settings.events.min_confidence,
    )
    try:
        count = write_report(connection, Path(args.out), ReportFilter(args.since, args.until, args.country))
    finally:
        connection.close()
    print(f"wrote a report of {count} events to {args.out}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from flows.eval_command import evaluate

    settings = _settings(args)
    gold = Path(args.gold)
    if not gold.is_file():
        print(f"error: {args.gold}: eval: no such file; pass a gold JSONL file", file=sys.stderr)
        return 2
    result = evaluate(gold, settings, args.kind, Path(args.input) if args.input else None)
    print(json.dumps(result, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Arrow's default mimalloc pool keeps what each partition rewrite allocated, so a long
    # backfill's memory crept up with the partition sizes; the system allocator gives it back.
    # Set before pyarrow is first imported; worker processes and served flow runs inherit it.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    handler = {
        "run": cmd_run,
        "sql": cmd_sql,
        "extract": cmd_extract,
        "nightly": cmd_nightly,
        "backfill": cmd_backfill,
        "serve": cmd_serve,
        "export": cmd_export,
        "eval": cmd_eval,
        "report": cmd_report,
        "history": cmd_history,
        "compact": cmd_compact,
        "migrate": cmd_migrate,
    }[args.command]
    one_line_errors()
    try:
        if args.command in ("run", "nightly", "backfill"):
            with stop_on_signals():
                code = handler(args)
            if exit_code():
                print(
                    "stopped by a signal at a batch boundary: what is counted above is loaded; "
                    "run the same command again to go on",
                    file=sys.stderr,
                )
            return exit_code() or code
        return handler(args)
    except BrokenPipeError:
        # The reader went away (`eventlake export | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except EventlakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
