"""Writers, ordering and merging checked against output written out by hand (for the mutation run,
docs/mutation.md). Nothing here derives its expectation from cdrtui's own code."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta, timezone

import pytest

from cdrtui.export import (
    CsvWriter,
    JsonlWriter,
    LineBuffer,
    TableWriter,
    jsonl_line,
    make_writer,
    merge_newest_first,
    order_key,
    tie_sorted,
    write_stream,
)
from cdrtui.model import Call, Direction, Status

UTC = timezone.utc
T0 = datetime(2026, 3, 31, 12, 0, 5, tzinfo=UTC)
HEADER = (
    "provider,id,started_at,answered_at,ended_at,direction,status,from,to,duration_s,total_s,billable_s,"
    "cost,currency,recording_urls,end_reason,provider_status,from_name,to_name\n"
)


def full_call() -> Call:
    return Call(
        provider="2chat",
        id="42",
        started_at=T0,
        answered_at=T0 + timedelta(seconds=3),
        ended_at=T0 + timedelta(seconds=63),
        direction=Direction.INBOUND,
        status=Status.ANSWERED,
        from_="+14155550100",
        to="=cmd()",
        duration_s=60,
        billable_s=60,
        cost=0.0861,
        currency="USD",
        recording_urls=("https://r/1.mp3", "https://r/2.mp3"),
        end_reason=None,
        provider_status="COMPLETED",
        from_name='Ann "A", Co',
        to_name=None,
    )


def test_jsonl_line_written_out_by_hand() -> None:
    assert jsonl_line(full_call()) == (
        '{"provider": "2chat", "id": "42", "started_at": "2026-03-31T12:00:05Z", '
        '"answered_at": "2026-03-31T12:00:08Z", "ended_at": "2026-03-31T12:01:08Z", "direction": "inbound", '
        '"status": "answered", "from": "+14155550100", "to": "=cmd()", "duration_s": 60, "total_s": 63, '
        '"billable_s": 60, "cost": 0.0861, "currency": "USD", '
        '"recording_urls": ["https://r/1.mp3", "https://r/2.mp3"], "end_reason": null, '
        '"provider_status": "COMPLETED", "from_name": "Ann \\"A\\", Co", "to_name": null}\n'
    )
    bare = jsonl_line(Call(provider="p", id="x", started_at=None, cost=float("nan"), billable_s=True))  # type: ignore[arg-type]
    assert '"started_at": null' in bare
    assert '"cost": NaN' in bare
    assert '"billable_s": true' in bare
    assert '"recording_urls": [], ' in bare


@pytest.mark.parametrize(
    ("char", "escaped"),
    [
        ("\x7f", True),
        ("\x85", True),
        ("\x9f", True),
        ("\u2028", True),
        ("\u2029", True),
        ("\u202a", True),
        ("\u202e", True),
        ("\u2066", True),
        ("\u2069", True),
        ("\ud800", True),
        ("\udfff", True),
        ("\x7e", False),
        ("\xa0", False),
        ("é", False),
        ("\u2027", False),
        ("\u202f", False),
        ("\u2065", False),
        ("\u206a", False),
        ("\ue000", False),
    ],
)
def test_jsonl_escapes_exactly_the_unsafe_characters(char: str, escaped: bool) -> None:
    line = jsonl_line(Call(provider="p", id="1", started_at=None, end_reason=f"a{char}b"))
    want = f"a\\u{ord(char):04x}b" if escaped else f"a{char}b"
    assert f'"end_reason": "{want}"' in line


class CountingOut(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.flushes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)

    def flush(self) -> None:
        self.flushes += 1


def test_line_buffer_writes_in_batches_of_256() -> None:
    out = CountingOut()
    buffer = LineBuffer(out)
    for i in range(255):
        buffer.write(f"{i}\n")
    assert out.writes == 0
    buffer.write("255\n")
    assert out.writes == 1
    assert out.getvalue() == "".join(f"{i}\n" for i in range(256))
    buffer.write("x\n")
    buffer.flush()
    assert (out.writes, out.flushes) == (2, 1)
    assert out.getvalue().endswith("255\nx\n")
    buffer.flush()  # nothing held: no empty write, still a flush
    assert (out.writes, out.flushes) == (2, 2)


def test_jsonl_writer_writes_on_close() -> None:
    out = CountingOut()
    writer = JsonlWriter(out)
    writer.write(full_call())
    assert out.getvalue() == ""
    writer.close()
    assert out.getvalue() == jsonl_line(full_call())


def test_csv_rows_by_hand() -> None:
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.write(full_call())
    writer.write(Call(provider="p", id="-1", started_at=None, from_="@SUM(A1)", to="-12"))
    writer.close()
    assert out.getvalue() == HEADER + (
        "2chat,42,2026-03-31T12:00:05Z,2026-03-31T12:00:08Z,2026-03-31T12:01:08Z,inbound,answered,+14155550100,"
        '\'=cmd(),60,63,60,0.0861,USD,https://r/1.mp3 https://r/2.mp3,,COMPLETED,"Ann ""A"", Co",\n'
        "p,-1,,,,unknown,unknown,'@SUM(A1),-12,0,,,,,,,,,\n"
    )
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert [len(r) for r in rows] == [19, 19, 19]


def test_csv_header_once_and_lazily() -> None:
    out = io.StringIO()
    lazy = CsvWriter(out, lazy=True)
    lazy.close()
    assert out.getvalue() == ""
    lazy.start()
    lazy.start()
    lazy.write(Call(provider="p", id="1", started_at=None))
    lazy.close()
    assert out.getvalue().count("provider,id,") == 1
    eager = io.StringIO()
    CsvWriter(eager).close()
    assert eager.getvalue() == HEADER
    on_write = io.StringIO()
    writer = CsvWriter(on_write, lazy=True)
    writer.write(Call(provider="p", id="1", started_at=None))
    writer.close()
    assert on_write.getvalue().startswith(HEADER)


TABLE_HEADER = (
    "STARTED (UTC)         DIR       FROM                TO                  STATUS       DUR                 COST"
    "  PROVIDER    REC  ID\n"
)


def test_table_by_hand() -> None:
    out = io.StringIO()
    writer = TableWriter(out)
    writer.write(full_call())
    writer.write(
        Call(provider="unpod", id="u\x1b1", started_at=None, duration_s=3725, recordings_known=False, to="李小龙")
    )
    writer.close()
    lines = out.getvalue().splitlines(keepends=True)
    assert lines[0] == TABLE_HEADER
    assert lines[1] == (
        "2026-03-31 12:00:05   inbound   +14155550100        =cmd()              answered     1:00          "
        "0.0861 USD  2chat       ●    42\n"
    )
    assert lines[2] == (
        "?                     unknown                       李小龙              unknown      1:02:05      "
        "          —  unpod       ?    u\ufffd1\n"
    )


def test_table_cuts_long_text_and_keeps_the_id_whole() -> None:
    out = io.StringIO()
    writer = TableWriter(out, lazy=True)
    writer.close()
    assert out.getvalue() == ""
    writer.write(Call(provider="p", id="i" * 30, started_at=None, from_="1234567890123456789012", cost=12.5))
    writer.close()
    line = out.getvalue().splitlines()[1]
    cells = ["?" + " " * 19, "unknown ", "123456789012345678", " " * 18, "unknown    ", "0:00    "]
    cells += ["   12.5000 ?  ", "p" + " " * 9, "   ", "i" * 30]
    assert line == "  ".join(cells)


def test_make_writer_picks_the_format() -> None:
    assert isinstance(make_writer("jsonl", io.StringIO()), JsonlWriter)
    assert isinstance(make_writer("csv", io.StringIO()), CsvWriter)
    assert isinstance(make_writer("table", io.StringIO()), TableWriter)
    out = io.StringIO()
    make_writer("csv", out, lazy=True).close()
    make_writer("table", out, lazy=True).close()
    assert out.getvalue() == ""
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        make_writer("xml", io.StringIO())


def call_at(second: int | None, call_id: str) -> Call:
    start = None if second is None else T0 + timedelta(seconds=second)
    return Call(provider="p", id=call_id, started_at=start)


def test_order_key_ties_break_numerically_then_textually() -> None:
    calls = [call_at(0, i) for i in ["9", "10", "abc", "2", "b"]] + [call_at(1, "1"), call_at(None, "99")]
    ordered = sorted(calls, key=order_key, reverse=True)
    assert [(c.started_at is None, c.id) for c in ordered] == [
        (False, "1"),
        (False, "10"),
        (False, "9"),
        (False, "2"),
        (False, "b"),
        (False, "abc"),
        (True, "99"),
    ]
    huge = "1" * 40  # too long to be a number worth comparing: a string, sorted before numbers
    assert sorted([call_at(0, huge), call_at(0, "5")], key=order_key)[0].id == huge
    nearly = "9" * 39
    assert sorted([call_at(0, nearly), call_at(0, "5")], key=order_key)[0].id == "5"
    # Fractions of a second don't count: the same printed second ties on id.
    late = Call(provider="p", id="1", started_at=T0 + timedelta(microseconds=999_999))
    assert order_key(late) < order_key(call_at(0, "2"))
    # A call without a start sorts older than any real one, even 1970.
    epoch = Call(provider="p", id="1", started_at=datetime(1900, 1, 1, tzinfo=UTC))
    assert order_key(call_at(None, "1")) < order_key(epoch)


async def aiter_of(calls: Iterable[Call]) -> AsyncIterator[Call]:
    for call in calls:
        yield call


async def collect(stream: AsyncIterator[Call]) -> list[str]:
    return [call.id async for call in stream]


def test_tie_sorted_orders_each_second_by_id_descending() -> None:
    calls = [call_at(5, "3"), call_at(5, "12"), call_at(4, "1"), call_at(3, "1"), call_at(3, "2"), call_at(3, "10")]
    assert asyncio.run(collect(tie_sorted(aiter_of(calls)))) == ["12", "3", "1", "10", "2", "1"]
    assert asyncio.run(collect(tie_sorted(aiter_of([])))) == []
    assert asyncio.run(collect(tie_sorted(aiter_of([call_at(1, "7")])))) == ["7"]


def test_merge_newest_first() -> None:
    a = [call_at(9, "a9"), call_at(5, "a5"), call_at(1, "a1")]
    b = [call_at(8, "b8"), call_at(5, "b5x"), call_at(2, "b2")]
    streams = [aiter_of(a), aiter_of([]), aiter_of(b)]
    assert asyncio.run(collect(merge_newest_first(streams))) == ["a9", "b8", "b5x", "a5", "b2", "a1"]
    assert asyncio.run(collect(merge_newest_first([]))) == []
    one = [call_at(3, "x"), call_at(2, "y")]
    assert asyncio.run(collect(merge_newest_first([aiter_of([]), aiter_of(one)]))) == ["x", "y"]


class FakeWriter:
    def __init__(self) -> None:
        self.events: list[str] = []

    def write(self, call: Call) -> None:
        self.events.append(f"w{call.id}")

    def close(self) -> None:
        self.events.append("c")


def run_stream(count: int, **kw) -> tuple[int, FakeWriter, list[int]]:  # type: ignore[no-untyped-def]
    writer, progress = FakeWriter(), []
    calls = [call_at(0, str(i)) for i in range(count)]
    written = asyncio.run(write_stream(aiter_of(calls), writer, on_progress=progress.append, **kw))
    return written, writer, progress


def test_write_stream_flushes_the_first_rows_then_rarely() -> None:
    written, writer, progress = run_stream(1001, flush_every=1e9)
    assert written == 1001
    assert progress == [500, 1000, 1001]
    # A flush after each of the first 50 rows, none at 500/1000 (the interval is huge), one at the end.
    assert writer.events.count("c") == 51
    assert writer.events[:4] == ["w0", "c", "w1", "c"]
    assert writer.events[98:101] == ["w49", "c", "w50"]
    assert writer.events[-2:] == ["w1000", "c"]


def test_write_stream_flushes_at_progress_points_when_due() -> None:
    _, writer, progress = run_stream(1000, flush_every=-1.0)
    assert progress == [500, 1000, 1000]
    assert writer.events.count("c") == 53
    i = writer.events.index("w499")
    assert writer.events[i + 1] == "c"


def test_write_stream_limit_and_no_progress_callback() -> None:
    written, writer, progress = run_stream(10, limit=3)
    assert written == 3
    assert [e for e in writer.events if e != "c"] == ["w0", "w1", "w2"]
    assert progress == [3]
    plain = FakeWriter()
    assert asyncio.run(write_stream(aiter_of([call_at(0, "1")]), plain, limit=0)) == 0
    assert plain.events == ["c"]
    assert asyncio.run(write_stream(aiter_of([call_at(0, "1")] * 3), FakeWriter())) == 3


def test_headers_go_out_at_once_unless_lazy() -> None:
    table = io.StringIO()
    TableWriter(table).close()
    assert table.getvalue() == TABLE_HEADER
    made = io.StringIO()
    make_writer("csv", made).close()
    assert made.getvalue() == HEADER
    made_table = io.StringIO()
    make_writer("table", made_table).close()
    assert made_table.getvalue() == TABLE_HEADER


def test_table_cuts_a_huge_value_at_200_characters() -> None:
    out = io.StringIO()
    writer = TableWriter(out, lazy=True)
    writer.write(Call(provider="p", id="7" * 250, started_at=None))
    writer.close()
    assert out.getvalue().rstrip("\n").endswith("  " + "7" * 200 + "…")


def test_numeric_ids_rank_above_text_ids_even_zero() -> None:
    calls = [call_at(0, "a"), call_at(0, "0"), call_at(0, "")]
    assert [c.id for c in sorted(calls, key=order_key, reverse=True)] == ["0", "a", ""]


def test_tie_sorted_yields_a_second_before_reading_further() -> None:
    consumed: list[str] = []

    async def source() -> AsyncIterator[Call]:
        for call in [call_at(5, "1"), call_at(5, "2"), call_at(4, "3"), call_at(3, "4"), call_at(2, "5")]:
            consumed.append(call.id)
            yield call

    async def first_two() -> list[str]:
        stream = tie_sorted(source())
        got = [(await anext(stream)).id, (await anext(stream)).id]
        await stream.aclose()  # type: ignore[attr-defined]
        return got

    assert asyncio.run(first_two()) == ["2", "1"]
    assert consumed == ["1", "2", "3"]  # one call past the second, not the whole stream


def test_merge_keeps_the_stream_order_on_equal_keys() -> None:
    def same(provider: str) -> list[Call]:
        return [Call(provider=provider, id="5", started_at=T0), Call(provider=provider, id="4", started_at=T0)]

    async def run() -> list[str]:
        merged = merge_newest_first([aiter_of(same("a")), aiter_of(same("b")), aiter_of(same("c"))])
        return [f"{c.provider}{c.id}" async for c in merged]

    assert asyncio.run(run()) == ["a5", "b5", "c5", "a4", "b4", "c4"]


def test_write_stream_flushes_a_quarter_second_after_the_last_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from cdrtui import export

    readings = iter([0.0, 0.25, 0.8, 1.0])  # start, row 500, row 1000, row 1500
    monkeypatch.setattr(export, "time", types.SimpleNamespace(monotonic=lambda: next(readings)))
    _, writer, progress = run_stream(1500)
    assert progress == [500, 1000, 1500, 1500]
    flushed_after = [writer.events[i - 1] for i, e in enumerate(writer.events) if e == "c" and i > 100]
    # 0.25 s after the start is not more than 0.25 s; 0.8 s is; 1.0 s is only 0.2 s after that flush.
    assert flushed_after == ["w999", "w1499"]


def test_write_stream_stops_reading_at_the_limit() -> None:
    consumed: list[str] = []

    async def source() -> AsyncIterator[Call]:
        for i in range(100):
            consumed.append(str(i))
            yield call_at(0, str(i))

    assert asyncio.run(write_stream(source(), FakeWriter(), limit=3)) == 3
    assert consumed == ["0", "1", "2", "3"]
