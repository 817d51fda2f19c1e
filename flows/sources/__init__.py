"""Source readers: the I/O that yields raw documents (or rejects naming the input) for the flows.

- `files`: files and folders of HTML, text and JSONL pages;
- `warc`: WARC archives, streamed record by record;
- `feeds`: links from RSS/Atom feeds, news sitemaps and URL lists;
- `fetch`: the bounded, polite HTTP fetcher;
- `state`: the `fetch_state` table (what was fetched, which archives are finished).
"""
