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

    sql = commands.add_parser("sql", parents=[common], help="run a SQL query over the warehouse views")
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")

    extract = commands.add_parser("extract", parents=[common],
                                  help="clean and extract JSONL records to stdout (no warehouse writes)")
    extract.add_argument("input", metavar="IN.jsonl|-")
    return parser


def _settings(args):
    from flows.settings import load_settings
    return load_settings(args.config, args.data)


def cmd_run(args) -> int:
    from flows.ingest import run_ingest
    settings = _settings(args)
    summary = run_ingest(args.paths or None, args.config, str(settings.warehouse.data_dir))
    counts = ", ".join(f"{k} {summary[k]}" for k in ("read", "loaded", "unchanged", "duplicate", "skipped", "rejected"))
    print(f"eventlake run {summary['run_id']} into {summary['data_dir']}: {counts}")
    if summary["rejected"]:
        print(f"warning: {summary['rejected']} input(s) rejected; see them with: "
              f"eventlake sql \"SELECT input, step, reason FROM rejects\"", file=sys.stderr)
    if args.example:
        from warehouse.views import format_rows, run_query
        print(f"\nexample query: {EXAMPLE_QUERY}")
        print(format_rows(*run_query(settings.warehouse.data_dir, EXAMPLE_QUERY), "table"))
    if summary["read"] == 0:
        print("error: no input could be read", file=sys.stderr)
        return 1
    return 0


def cmd_sql(args) -> int:
    from warehouse.views import format_rows, run_query
    settings = _settings(args)
    print(format_rows(*run_query(settings.warehouse.data_dir, args.query), args.format))
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    handler = {"run": cmd_run, "sql": cmd_sql, "extract": cmd_extract}[args.command]
    try:
        return handler(args)
    except EventlakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
