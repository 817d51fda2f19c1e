"""`eventlake report`: one self-contained HTML page over the events view.

Plotly's JavaScript is inlined once and the map is a plain longitude/latitude scatter (a plotly
geo map would fetch its world outline from a CDN), so the page makes no request when viewed.
Sections: events per month by QuadClass, top dyads with their Goldstein balance, the actor
network, the map, top events with evidence and source links, and the run history.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from transforms.errors import QueryError
from warehouse.lookups import DICTIONARY_DIR

if TYPE_CHECKING:
    import duckdb
    import plotly.graph_objects as go

QUAD_COLOURS = {1: "#4c9be8", 2: "#1f5fa8", 3: "#f0a04b", 4: "#c8372d"}
TOP_DYADS = 15
NETWORK_ACTORS = 30
TOP_EVENTS = 25
# Every figure shares this config: no link to the plotly site in the mode bar.
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True)
class ReportFilter:
    since: date | None = None
    until: date | None = None
    country: str | None = None  # ISO 3166-1 alpha-3: events with it as source, target or location

    def where(self) -> tuple[str, list]:
        clauses = ["event_date IS NOT NULL"]
        params: list[object] = []
        if self.since:
            clauses.append("event_date >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("event_date <= ?")
            params.append(self.until)
        if self.country:
            clauses.append("(source.country = ? OR target.country = ? OR location_country = ?)")
            params += [self.country] * 3
        return " AND ".join(clauses), params

    def describe(self) -> str:
        parts = []
        if self.since or self.until:
            parts.append(f"{self.since or '…'} to {self.until or '…'}")
        if self.country:
            parts.append(f"country {self.country}")
        return ", ".join(parts) or "all events"


def _filtered_events(connection: duckdb.DuckDBPyConnection, where: ReportFilter) -> None:
    """A temporary view of the events the report covers, so each section filters once."""
    clause, params = where.where()
    # Parameters cannot be bound in a view definition: the filter values are literals here.
    literal = clause
    for value in params:
        literal = literal.replace("?", "'" + str(value).replace("'", "''") + "'", 1)
    connection.execute(f"CREATE OR REPLACE TEMP VIEW report_events AS SELECT * FROM events WHERE {literal}")


def _actor_label(column: str) -> str:
    return f"coalesce({column}.name, {column}.code, '(unnamed)')"


def _monthly_by_quad(connection: duckdb.DuckDBPyConnection) -> go.Figure:
    import plotly.graph_objects as go

    rows = connection.execute("""
        SELECT strftime(date_trunc('month', event_date), '%Y-%m') AS month, quad_class, quad_label, count(*)
        FROM report_events GROUP BY ALL ORDER BY month, quad_class""").fetchall()
    figure = go.Figure()
    for quad in sorted({r[1] for r in rows}):
        points = [r for r in rows if r[1] == quad]
        figure.add_bar(
            x=[r[0] for r in points],
            y=[r[3] for r in points],
            name=f"{quad} {points[0][2]}",
            marker_color=QUAD_COLOURS.get(quad),
        )
    figure.update_layout(
        barmode="stack",
        xaxis_title="month of the event",
        yaxis_title="events",
        xaxis_type="category",
        xaxis_categoryorder="category ascending",
        legend_title="QuadClass",
    )
    return figure


def _top_dyads(connection: duckdb.DuckDBPyConnection) -> go.Figure:
    import plotly.graph_objects as go

    rows = connection.execute(f"""
        SELECT {_actor_label("source")} AS source, {_actor_label("target")} AS target, count(*) AS events,
               sum(goldstein) AS balance, avg(goldstein) AS mean
        FROM report_events WHERE source IS NOT NULL AND target IS NOT NULL
        GROUP BY ALL ORDER BY events DESC, abs(balance) DESC, source, target LIMIT {TOP_DYADS}""").fetchall()
    rows.reverse()  # the largest at the top of a horizontal bar chart
    figure = go.Figure(
        go.Bar(
            y=[f"{r[0]} → {r[1]}" for r in rows],
            x=[r[2] for r in rows],
            orientation="h",
            marker={
                "color": [r[4] for r in rows],
                "colorscale": "RdBu",
                "cmin": -10,
                "cmax": 10,
                "colorbar": {"title": "mean Goldstein"},
            },
            customdata=[[round(r[3], 1), round(r[4], 2)] for r in rows],
            hovertemplate="%{y}<br>%{x} events<br>Goldstein balance %{customdata[0]} (mean %{customdata[1]})"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title="events (colour: mean Goldstein, conflict red, cooperation blue)",
        height=max(300, 28 * len(rows) + 120),
        margin={"l": 280},
    )
    return figure


def _network(connection: duckdb.DuckDBPyConnection) -> go.Figure:
    """Who acts on whom: the most active actors on a circle, an edge per directed dyad."""
    import plotly.graph_objects as go

    edges = connection.execute(f"""
        SELECT {_actor_label("source")}, {_actor_label("target")}, count(*), avg(goldstein)
        FROM report_events WHERE source IS NOT NULL AND target IS NOT NULL
          AND {_actor_label("source")} <> {_actor_label("target")}
        GROUP BY ALL""").fetchall()
    degree: dict[str, int] = {}
    for source, target, weight, _ in edges:
        degree[source] = degree.get(source, 0) + weight
        degree[target] = degree.get(target, 0) + weight
    actors = sorted(degree, key=lambda a: (-degree[a], a))[:NETWORK_ACTORS]
    position = {
        a: (math.cos(2 * math.pi * i / max(1, len(actors))), math.sin(2 * math.pi * i / max(1, len(actors))))
        for i, a in enumerate(actors)
    }
    figure = go.Figure()
    heaviest = max((e[2] for e in edges), default=1)
    for source, target, weight, mean in sorted(edges, key=lambda e: e[2]):
        if source not in position or target not in position:
            continue
        (x0, y0), (x1, y1) = position[source], position[target]
        colour = QUAD_COLOURS[4] if mean < 0 else QUAD_COLOURS[2]
        figure.add_scatter(
            x=[x0, x1],
            y=[y0, y1],
            mode="lines",
            hoverinfo="skip",
            showlegend=False,
            line={"width": 1 + 5 * weight / heaviest, "color": colour},
            opacity=0.5,
        )
        # The arrow head sits short of the target's marker.
        figure.add_annotation(
            x=x0 + 0.9 * (x1 - x0),
            y=y0 + 0.9 * (y1 - y0),
            ax=x0,
            ay=y0,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowsize=1,
            arrowwidth=1,
            arrowcolor=colour,
            opacity=0.6,
            text="",
        )
    figure.add_scatter(
        x=[position[a][0] for a in actors],
        y=[position[a][1] for a in actors],
        mode="markers+text",
        text=actors,
        textposition="top center",
        showlegend=False,
        marker={"size": [8 + 20 * math.sqrt(degree[a] / max(degree.values())) for a in actors], "color": "#444"},
        customdata=[degree[a] for a in actors],
        hovertemplate="%{text}: %{customdata} events<extra></extra>",
    )
    axis = {"visible": False, "range": [-1.35, 1.35]}
    figure.update_layout(xaxis=axis, yaxis={**axis, "scaleanchor": "x"}, height=650)
    return figure


def _map(connection: duckdb.DuckDBPyConnection) -> go.Figure:
    import plotly.graph_objects as go

    rows = connection.execute("""
        SELECT location, location_country_name, round(latitude, 3), round(longitude, 3), count(*),
               avg(goldstein), string_agg(DISTINCT cameo_name, '; ')
        FROM report_events WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY ALL""").fetchall()
    figure = go.Figure()
    # The gazetteer's cities, faint, draw the continents without fetching an outline.
    cities = _gazetteer_points()
    figure.add_scatter(
        x=[c[1] for c in cities],
        y=[c[0] for c in cities],
        mode="markers",
        hoverinfo="skip",
        marker={"size": 2, "color": "#d5d5d5"},
        showlegend=False,
    )
    most = max((r[4] for r in rows), default=1)
    figure.add_scatter(
        x=[r[3] for r in rows],
        y=[r[2] for r in rows],
        mode="markers",
        showlegend=False,
        text=[f"{r[0]}, {r[1] or ''}: {r[4]} events<br>{r[6]}" for r in rows],
        hoverinfo="text",
        marker={
            "size": [7 + 18 * math.sqrt(r[4] / most) for r in rows],
            "color": [r[5] for r in rows],
            "colorscale": "RdBu",
            "cmin": -10,
            "cmax": 10,
            "line": {"width": 1, "color": "#333"},
            "colorbar": {"title": "mean Goldstein"},
        },
    )
    figure.update_layout(
        xaxis={"range": [-180, 180], "title": "longitude", "zeroline": False},
        yaxis={"range": [-60, 80], "title": "latitude", "scaleanchor": "x", "zeroline": False},
        height=560,
    )
    return figure


def _gazetteer_points() -> list[tuple[float, float]]:
    points = []
    with open(DICTIONARY_DIR / "gazetteer.tsv", encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4 and not line.startswith(("#", "name\t")):
                points.append((round(float(parts[2]), 1), round(float(parts[3]), 1)))
    return sorted(set(points))


def _source_link(url: str | None, path: str | None) -> str | None:
    if url:
        return url
    if path and Path(path).is_absolute():
        return Path(path).as_uri()
    return None


def _top_events_table(connection: duckdb.DuckDBPyConnection) -> str:
    rows = connection.execute(f"""
        WITH top AS (
            SELECT event_id, event_date, {_actor_label("source")} AS source, cameo, cameo_name, quad_class,
                   {_actor_label("target")} AS target, goldstein, num_mentions, num_articles, location
            FROM report_events
            ORDER BY num_mentions DESC, num_articles DESC, abs(goldstein) DESC, event_date DESC, event_id
            LIMIT {TOP_EVENTS}),
        evidence AS (
            SELECT m.event_id, arg_max(m.evidence, m.confidence) AS evidence,
                   arg_max(m.url, m.confidence) AS url, arg_max(a.source_path, m.confidence) AS path
            FROM event_mentions m JOIN top USING (event_id)
            LEFT JOIN articles a ON a.article_id = m.article_id
            GROUP BY m.event_id)
        SELECT top.*, evidence.evidence, evidence.url, evidence.path
        FROM top LEFT JOIN evidence USING (event_id)
        ORDER BY num_mentions DESC, num_articles DESC, abs(goldstein) DESC, event_date DESC, event_id""").fetchall()
    head = ("date", "source", "event", "target", "Goldstein", "mentions", "location", "evidence", "source link")
    body = []
    for _, day, source, cameo, name, quad, target, goldstein, mentions, _, location, evidence, url, path in rows:
        link = _source_link(url, path)
        anchor = f'<a href="{html.escape(link)}">{html.escape(_short(link))}</a>' if link else ""
        cells = [
            day.isoformat(),
            html.escape(source),
            f'<span class="q{quad}">{html.escape(cameo)}</span> {html.escape(name or "")}',
            html.escape(target),
            f"{goldstein:+.1f}",
            str(mentions),
            html.escape(location or ""),
            html.escape(evidence or ""),
            anchor,
        ]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return _table(head, body, "no events")


def _short(link: str) -> str:
    return link if len(link) <= 48 else link[:30] + "…" + link[-16:]


def _runs_table(connection: duckdb.DuckDBPyConnection) -> str:
    rows = connection.execute("""
        SELECT started, finished, flow, counts.read, counts.loaded, counts.unchanged, counts.duplicate,
               counts.skipped, counts.rejected, run_id
        FROM runs ORDER BY started DESC LIMIT 50""").fetchall()
    head = (
        "started (UTC)",
        "finished",
        "flow",
        "read",
        "loaded",
        "unchanged",
        "duplicate",
        "skipped",
        "rejected",
        "run id",
    )
    body = []
    for started, finished, flow, *counts, run_id in rows:
        cells = [_minute(started), _minute(finished) if finished else "(not finished)", html.escape(flow)]
        cells += ["" if c is None else str(c) for c in counts] + [html.escape(run_id)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return _table(head, body, "no runs recorded")


def _minute(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def _table(head: tuple[str, ...], body: list[str], empty: str) -> str:
    if not body:
        return f'<p class="empty">{empty}</p>'
    header = "".join(f"<th>{h}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1200px;
       color: #222; padding: 0 16px; }
h1 { margin-bottom: 4px; } .meta { color: #666; margin-top: 0; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; margin: 16px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 16px; min-width: 120px; }
.card b { display: block; font-size: 1.6em; }
section { margin: 28px 0; } table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } .empty { color: #888; }
.q1, .q2 { color: #1f5fa8; font-weight: bold; } .q3, .q4 { color: #c8372d; font-weight: bold; }
"""


def _aggregate(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """The row of an aggregate query (without GROUP BY there is always exactly one)."""
    row = connection.execute(sql).fetchone()
    assert row is not None
    return row


def build_report(
    connection: duckdb.DuckDBPyConnection, where: ReportFilter = ReportFilter(), generated: datetime | None = None
) -> str:
    """The report as one HTML document, from a connection with the warehouse views."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    if where.country:
        known = connection.execute("SELECT name FROM countries WHERE iso3 = ?", [where.country]).fetchone()
        if known is None:
            raise QueryError(
                where.country,
                "report",
                "not an ISO 3166-1 alpha-3 country code",
                'see them with: eventlake sql "SELECT iso3, name FROM countries"',
            )
    _filtered_events(connection, where)
    events, mentions, first, last = _aggregate(
        connection,
        """
        SELECT count(*), coalesce(sum(num_mentions), 0), min(event_date), max(event_date)
        FROM report_events""",
    )
    articles = _aggregate(
        connection,
        "SELECT count(DISTINCT article_id) FROM event_mentions WHERE event_id IN (SELECT event_id FROM report_events)",
    )[0]
    geolocated = _aggregate(connection, "SELECT count(*) FROM report_events WHERE latitude IS NOT NULL")[0]
    figures = {
        "Events per month by QuadClass": _monthly_by_quad(connection),
        "Top dyads and their Goldstein balance": _top_dyads(connection),
        "Actor network: who acts on whom (edge width: events; red: conflictual on balance)": _network(connection),
        f"Geolocated events ({geolocated} of {events})": _map(connection),
    }
    sections = []
    for number, (title, figure) in enumerate(figures.items()):
        figure.update_layout(template="plotly_white", margin_t=30)
        div = pio.to_html(
            figure, full_html=False, include_plotlyjs=False, config=PLOT_CONFIG, div_id=f"figure-{number}"
        )
        sections.append(f"<section><h2>{html.escape(title)}</h2>{div}</section>")
    sections.append(f"<section><h2>Top events</h2>{_top_events_table(connection)}</section>")
    sections.append(f"<section><h2>Run history</h2>{_runs_table(connection)}</section>")
    stamp = (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    span = f"{first} to {last}" if first else "no dated events"
    cards = "".join(
        f'<div class="card"><b>{value}</b>{label}</div>'
        for value, label in (
            (events, "events"),
            (mentions, "mentions"),
            (articles, "articles"),
            (geolocated, "geolocated"),
        )
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>eventlake report: {html.escape(where.describe())}</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
        f'<h1>eventlake report</h1><p class="meta">{html.escape(where.describe())}; events {span}; '
        f'generated {stamp}</p><div class="cards">{cards}</div>{"".join(sections)}</body></html>\n'
    )


def write_report(connection: duckdb.DuckDBPyConnection, out: Path, where: ReportFilter = ReportFilter()) -> int:
    """Write the report to `out`; returns the number of events it covers."""
    document = build_report(connection, where)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    return _aggregate(connection, "SELECT count(*) FROM report_events")[0]


# What `eventlake run --example` (and so `make run`) shows after loading: coded events, then the
# event counts per month by QuadClass.
FIRST_LOOK = (
    (
        "a few coded events",
        """
        SELECT e.event_date AS date, e.source.name AS source, e.cameo_name AS event, e.target.name AS target,
               (SELECT arg_max(m.evidence, m.confidence) FROM event_mentions m WHERE m.event_id = e.event_id)
                   AS evidence
        FROM events e
        WHERE e.source IS NOT NULL AND e.target IS NOT NULL AND e.plover IS NOT NULL AND e.event_date IS NOT NULL
        ORDER BY e.num_mentions DESC, e.avg_confidence DESC, abs(e.goldstein) DESC, e.event_id
        LIMIT 8""",
    ),
    (
        "events per month by QuadClass",
        """
        SELECT strftime(event_date, '%Y-%m') AS month,
               count(*) FILTER (WHERE quad_class = 1) AS "verbal coop",
               count(*) FILTER (WHERE quad_class = 2) AS "material coop",
               count(*) FILTER (WHERE quad_class = 3) AS "verbal conflict",
               count(*) FILTER (WHERE quad_class = 4) AS "material conflict",
               count(*) AS events
        FROM events WHERE event_date IS NOT NULL GROUP BY month ORDER BY month""",
    ),
)
