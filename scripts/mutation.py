"""Mutation testing of cdrtui's core modules: plant one small defect at a time, see if the tests notice.

    .venv/bin/python scripts/mutation.py                 # every module in TARGETS, in order
    .venv/bin/python scripts/mutation.py model export    # only these (name or path)
    .venv/bin/python scripts/mutation.py --list model    # print the mutants, run nothing
    .venv/bin/python scripts/mutation.py --show model    # print last run's survivors

Not part of pytest or .ci/run: it is slow by nature. How it works, so the numbers can be trusted:
- Mutants come from the AST (operators, comparisons, and/or, constants, `not`, conditions, break/continue,
  assignments to None). Docstrings, annotations, logging-call arguments and lines marked
  `# pragma: no mutate` are not mutated.
- One baseline run per module traces which of its lines the selected tests execute; a mutant on a line
  they never run is reported as "no coverage" (a survivor) without running anything.
- Each mutant runs in a fork of this process (pytest and the heavy libraries imported once); an import
  hook serves the mutated module from the mutated AST, so the tree on disk is never modified.
- Exit 0 = survived, test failure or collection error = killed, over the time limit = timeout (killed).
- Survivors listed in scripts/mutation_equivalents.txt (module | source line | mutation | why) are
  equivalent: excluded from the score and reported as such.
Results go to mutants/<module>.json (git-ignored); the score table is printed at the end.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.abc
import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "mutants"
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.txt"
# Plugins the selected tests don't use cost half of each run's CPU: left out.
PYTEST_ARGS = ["-x", "-q", "--no-header", "-o", "addopts="] + [
    arg
    for plugin in ("randomly", "cacheprovider", "textual-snapshot", "syrupy", "anyio", "platformdirs")
    for arg in ("-p", f"no:{plugin}")
]

# Module -> the fast tests that exercise it, the module's own mutation tests first (with -x a
# mutant dies at the first failure; a survivor runs them all, so they are kept short). An entry is a
# test file, a node id (file::test) or `--deselect=<node id>` (a test too slow to run per mutant).
PROVIDER = "tests/providers"
TARGETS: dict[str, list[str]] = {
    "cdrtui/model.py": ["tests/test_mutation_model.py", "tests/test_mutation_order.py", "tests/test_export_lines.py"],
    "cdrtui/timeparse.py": ["tests/test_mutation_timeparse.py", "tests/test_timezones.py"],
    "cdrtui/export.py": ["tests/test_mutation_export.py", "tests/test_export_lines.py"],
    "cdrtui/display.py": ["tests/test_mutation_display.py", "tests/test_mutation_export.py"],
    "cdrtui/filters.py": ["tests/test_mutation_filters.py", "tests/test_timezones.py", "tests/test_views.py"],
    # tests/test_paging.py starts simulators (a million VoIPstudio calls): too slow per mutant here.
    "cdrtui/paging.py": ["tests/test_mutation_paging.py"],
    # Split out of paging.py (provider-side filtering, iter_calls' streaming): reached through PagedSource.
    "cdrtui/filtered.py": ["tests/test_mutation_paging.py"],
    "cdrtui/streaming.py": ["tests/test_mutation_paging.py"],
    # The transport under every client: a tiny asyncio HTTP server written in the test, real sockets.
    "cdrtui/providers/http.py": ["tests/test_mutation_http.py", "tests/test_http_paths.py"],
    # Providers: hand-written expectations and the oracle (a second normaliser) first, then the
    # provider's own tests, which talk HTTP to its simulator on 127.0.0.1.
    "cdrtui/providers/unpod.py": [
        "tests/test_mutation_unpod.py",
        "tests/oracle/test_unpod_oracle.py",
        f"{PROVIDER}/test_unpod.py",
    ],
    "cdrtui/providers/twochat.py": [
        "tests/test_mutation_twochat.py",
        "tests/oracle/test_2chat_oracle.py",
        f"{PROVIDER}/test_twochat.py",
        # Real per-minute windows shrunk to a second or two: under tracing on a loaded machine
        # they overrun; they test the rate budget (twochat_rate.py), not this module.
        f"--deselect={PROVIDER}/test_twochat.py::test_a_per_minute_limit_is_waited_out_with_a_countdown",
        f"--deselect={PROVIDER}/test_twochat.py::test_cli_listing_waits_out_the_limit_and_says_so",
        f"--deselect={PROVIDER}/test_twochat.py::test_a_limit_that_never_lifts_gives_up_after_the_bound",
        f"--deselect={PROVIDER}/test_twochat.py::test_a_connection_test_waits_one_window_at_most",
    ],
    # The three biggest clients: their own test files take 15-85 s and most of their tests list calls,
    # so a surviving mutant of the mapping would run nearly all of them. The selection is the
    # hand-written expectations, the oracle, and the provider tests about what the mapping feeds
    # (malformed records, details, recordings, costs), by name.
    "cdrtui/providers/voipstudio.py": [
        "tests/test_mutation_voipstudio.py",
        "tests/oracle/test_voipstudio_oracle.py",
        *(
            f"{PROVIDER}/test_voipstudio.py::{name}"
            for name in (
                "test_malformed_records_do_not_break_a_page",
                "test_details_bring_trace_recordings_and_costs",
                "test_details_without_trace_or_recordings",
                "test_details_of_the_seed_record",
                "test_a_failed_recording_lookup_leaves_the_page_with_unknown_recordings_and_a_notice",
                "test_a_refused_time_window_is_not_asked_again",
                "test_details_call_carries_the_recordings_the_panel_shows",
                "test_details_when_the_api_refuses_the_live_id_filter",
                "test_details_when_no_recording_lookup_works",
                "test_recordings_are_found_whatever_clock_their_times_are_on",
                "test_the_clock_is_kept_at_utc_when_it_fits",
                "test_a_broken_call_length_does_not_widen_the_recordings_window",
            )
        ),
    ],
    "cdrtui/providers/portsip.py": [
        "tests/test_mutation_portsip.py",
        "tests/oracle/test_portsip_oracle.py",
        *(
            f"{PROVIDER}/test_portsip.py::{name}"
            for name in (
                "test_malformed_records_never_break_a_page",
                "test_non_object_records_get_stable_ids",
                "test_details_bring_cost_recording_and_legs",
                "test_details_without_recordings_or_session",
                "test_recording_failure_keeps_the_details",
                "test_listing_knows_recordings_with_one_request_per_page",
                "test_failed_recording_listing_leaves_the_page_unknown",
                "test_unidentifiable_recordings_make_calls_unknown_not_none",
                "test_details_find_recordings_by_what_the_pbx_documents",
                "test_recording_links_work_public_or_private",
                "test_details_without_a_listing_record_still_raise",
            )
        ),
    ],
    "cdrtui/providers/voximplant.py": [
        "tests/test_mutation_voximplant.py",
        "tests/oracle/test_voximplant_oracle.py",
        *(
            f"{PROVIDER}/test_voximplant.py::{name}"
            for name in (
                "test_the_seed_example_details",
                "test_talk_time_is_the_answered_legs_and_total_time_the_sessions",
                "test_status_rules",
                "test_malformed_records_do_not_break_a_page",
                "test_details_and_recordings_of_a_generated_session",
                "test_the_jwt_goes_to_voximplant_storage_only",
                "test_a_malformed_record_url_still_gives_the_details",
                "test_transcripts_get_record_id_and_authorization",
                "test_one_recording_per_file_in_the_listing_and_details",
            )
        ),
    ],
}


_BINOPS: dict[type[ast.AST], type[ast.AST]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
_CMPOPS: dict[type[ast.AST], type[ast.AST]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.Eq: "==", ast.NotEq: "!=",
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
    ast.NotIn: "not in", ast.And: "and", ast.Or: "or",
}  # fmt: skip
_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


@dataclass
class Mutant:
    index: int  # position of the node in the walk (stable for one version of the file)
    op: str  # which change: see _apply
    line: int
    end_line: int
    stmt_line: int  # first line of the enclosing statement (coverage may only see that one)
    desc: str  # human-readable: "'<' -> '<='"
    source: str = ""  # the original source line, stripped (the key for equivalents)
    status: str = "pending"


def _skipped_ids(tree: ast.AST) -> set[int]:
    """Nodes never mutated: docstrings, annotations, logging arguments, `__all__`."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            mark(body[0])
        if isinstance(node, ast.arg | ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _LOG_METHODS:
            receiver = ast.unparse(node.func.value)
            if "log" in receiver.lower():
                mark(node)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            mark(node)
        if isinstance(node, ast.FormattedValue):
            mark(node.format_spec)  # a broken format spec only crashes: it tests nothing
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            mark(node)
    return skip


def _walk(tree: ast.AST) -> Iterator[tuple[ast.AST, ast.stmt | None]]:
    """Every node with its innermost enclosing statement, in a deterministic order."""

    def visit(node: ast.AST, stmt: ast.stmt | None) -> Iterator[tuple[ast.AST, ast.stmt | None]]:
        inner = node if isinstance(node, ast.stmt) else stmt
        yield node, inner
        for child in ast.iter_child_nodes(node):
            yield from visit(child, inner)

    return visit(tree, None)


def _ops_for(node: ast.AST) -> list[tuple[str, str]]:
    """(op, description) pairs this node can be mutated with."""
    ops: list[tuple[str, str]] = []
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _BINOPS:
        ops.append(("binop", f"'{_SYMBOLS[type(node.op)]}' -> '{_SYMBOLS[_BINOPS[type(node.op)]]}'"))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            ops.append((f"cmp{i}", f"'{_SYMBOLS[type(op)]}' -> '{_SYMBOLS[_CMPOPS[type(op)]]}'"))
    elif isinstance(node, ast.BoolOp):
        other = "or" if isinstance(node.op, ast.And) else "and"
        ops.append(("boolop", f"'{_SYMBOLS[type(node.op)]}' -> '{other}'"))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        ops.append(("unary", f"drop '{'not' if isinstance(node.op, ast.Not) else '-'}'"))
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            ops.append(("const", f"{value} -> {not value}"))
        elif isinstance(value, int | float):
            ops.append(("const", f"{value!r} -> {value + 1!r}"))
        elif isinstance(value, str):
            ops.append(("const", f"{value!r} -> {'XX' + value + 'XX'!r}"))
    elif isinstance(node, ast.If | ast.While | ast.IfExp) and not isinstance(
        node.test, ast.Compare | ast.BoolOp | ast.UnaryOp | ast.Constant
    ):
        ops.append(("negate", f"'{ast.unparse(node.test)}' -> 'not ...'"))
    elif isinstance(node, ast.Break | ast.Continue):
        ops.append(("flow", "break -> continue" if isinstance(node, ast.Break) else "continue -> break"))
    elif (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and not isinstance(node.targets[0], ast.Tuple)
        and not (isinstance(node.value, ast.Constant) and node.value.value is None)
    ):
        ops.append(("none", "value -> None"))
    return ops


def _apply(node: ast.AST, op: str) -> None:
    """Mutate one node in place."""
    if op == "binop":
        node.op = _BINOPS[type(node.op)]()  # type: ignore[attr-defined]
    elif op.startswith("cmp"):
        i = int(op[3:])
        node.ops[i] = _CMPOPS[type(node.ops[i])]()  # type: ignore[attr-defined]
    elif op == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()  # type: ignore[attr-defined]
    elif op == "const":
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, bool):
            node.value = not value  # type: ignore[attr-defined]
        elif isinstance(value, int | float):
            node.value = value + 1  # type: ignore[attr-defined]
        else:
            node.value = "XX" + value + "XX"  # type: ignore[attr-defined]
    elif op == "negate":
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)  # type: ignore[attr-defined]
    elif op == "flow":
        node.__class__ = ast.Continue if isinstance(node, ast.Break) else ast.Break
    elif op == "none":
        node.value = ast.Constant(value=None)  # type: ignore[attr-defined]
    else:
        raise ValueError(op)


def _unary_replace(tree: ast.AST, target: ast.AST) -> None:
    """`not x` / `-x` -> `x`: replace the node in its parent."""
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, target.operand)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = target.operand
                        return


def enumerate_mutants(path: Path) -> list[Mutant]:
    source = source_of(path)
    lines = source.splitlines()
    tree = ast.parse(source)
    skip = _skipped_ids(tree)
    mutants: list[Mutant] = []
    seen: dict[tuple[str, str], int] = {}
    for index, (node, stmt) in enumerate(_walk(tree)):
        if id(node) in skip or not hasattr(node, "lineno"):
            continue
        if "pragma: no mutate" in lines[node.lineno - 1]:
            continue
        for op, desc in _ops_for(node):
            text = lines[node.lineno - 1].strip()
            # Identical mutations on one line are told apart by their order.
            n = seen.get((text, desc), 0)
            seen[(text, desc)] = n + 1
            label = desc if n == 0 else f"{desc} #{n + 1}"
            stmt_line = stmt.lineno if stmt is not None else node.lineno
            end = getattr(node, "end_lineno", None) or node.lineno
            if isinstance(node, ast.If | ast.While):
                end = node.test.end_lineno or node.lineno
            mutants.append(Mutant(index, op, node.lineno, end, stmt_line, label, text))
    return mutants


_SOURCES: dict[Path, str] = {}  # read once per run: the tree may change under a long run (git rebase)


def source_of(path: Path) -> str:
    if path not in _SOURCES:
        _SOURCES[path] = path.read_text()
    return _SOURCES[path]


def mutated_code(path: Path, mutant: Mutant | None):  # type: ignore[no-untyped-def]
    tree = ast.parse(source_of(path))
    if mutant is not None:
        for index, (node, _stmt) in enumerate(_walk(tree)):
            if index == mutant.index:
                if mutant.op == "unary":
                    _unary_replace(tree, node)
                else:
                    _apply(node, mutant.op)
                break
        ast.fix_missing_locations(tree)
    return compile(tree, str(path), "exec")


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module from a code object instead of its file."""

    def __init__(self, name: str, path: Path, code) -> None:  # type: ignore[no-untyped-def]
        self.name, self.path, self.code = name, path, code

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != self.name:
            return None
        return importlib.util.spec_from_file_location(fullname, self.path, loader=self)

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return None

    def exec_module(self, module) -> None:  # type: ignore[no-untyped-def]
        exec(self.code, module.__dict__)


class _LineTracer:
    """Which lines of one file each test runs (lines run at import go under "")."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.current = ""
        self.lines: dict[str, set[int]] = {}

    def tracer(self, frame, event, arg):  # type: ignore[no-untyped-def]
        if frame.f_code.co_filename != self.filename:
            return None
        self.lines.setdefault(self.current, set()).add(frame.f_lineno)
        return self.local

    def local(self, frame, event, arg):  # type: ignore[no-untyped-def]
        if event == "line":
            self.lines.setdefault(self.current, set()).add(frame.f_lineno)
        return self.local

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item) -> None:  # type: ignore[no-untyped-def]
        self.current = item.nodeid


def _child(module: str, path: Path, mutant: Mutant | None, tests: list[str], trace_to: Path | None) -> int:
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        code = mutated_code(path, mutant)
    except Exception:
        return 99  # the mutant doesn't compile: counts as killed
    sys.meta_path.insert(0, _MutantFinder(module, path, code))
    if trace_to is None:
        return int(pytest.main([*PYTEST_ARGS, *tests]))
    import threading

    tracer = _LineTracer(str(path))
    sys.settrace(tracer.tracer)
    threading.settrace(tracer.tracer)
    rc = int(pytest.main([*PYTEST_ARGS, *tests], plugins=[tracer]))
    sys.settrace(None)
    trace_to.write_text(json.dumps({test: sorted(lines) for test, lines in tracer.lines.items()}))
    return rc


_RUNNING: list[int] = []  # the child in flight, killed with us


def _stop(signum: int, frame: object) -> None:
    for pid in _RUNNING:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(128 + signum)


def run_one(module: str, path: Path, mutant: Mutant | None, tests: list[str], timeout: float,
            trace_to: Path | None = None) -> tuple[int | None, float]:  # fmt: skip
    """Fork, run the tests against one mutant; (exit code or None on timeout, seconds)."""
    started = time.monotonic()
    pid = os.fork()
    _RUNNING[:] = [pid]
    if pid == 0:
        code = 98
        try:
            os.chdir(ROOT)
            code = _child(module, path, mutant, tests, trace_to)
        finally:
            os._exit(code)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.monotonic() - started
        if time.monotonic() - started > timeout:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return None, time.monotonic() - started
        time.sleep(0.05)


def load_equivalents() -> dict[tuple[str, str, str], str]:
    table: dict[tuple[str, str, str], str] = {}
    if EQUIVALENTS.exists():
        for raw in EQUIVALENTS.read_text().splitlines():
            if raw.strip() and not raw.startswith("#"):
                module, *middle, why = (part.strip() for part in raw.split(" | "))
                # The source line or the mutation may hold " | " itself: each way to split them is a key.
                for cut in range(1, len(middle)):
                    table[(module, " | ".join(middle[:cut]), " | ".join(middle[cut:]))] = why
    return table


def resolve(names: list[str]) -> list[str]:
    if not names:
        return list(TARGETS)
    chosen = []
    for name in names:
        hits = [t for t in TARGETS if t == name or Path(t).stem == name or t.endswith(f"/{name}.py")]
        if not hits:
            sys.exit(f"unknown module {name!r}; one of: {', '.join(Path(t).stem for t in TARGETS)}")
        chosen += hits
    return chosen


def summarise(target: str, mutants: list[dict]) -> dict[str, int]:
    equivalents = load_equivalents()
    counts = {"killed": 0, "timeout": 0, "survived": 0, "no coverage": 0, "equivalent": 0}
    for m in mutants:
        status = m["status"]
        if status in {"survived", "no coverage"} and (target, m["source"], m["desc"]) in equivalents:
            status = "equivalent"
        counts[status] = counts.get(status, 0) + 1
    counts["total"] = len(mutants)
    return counts


def score(counts: dict[str, int]) -> float:
    caught = counts["killed"] + counts["timeout"]
    judged = caught + counts["survived"] + counts["no coverage"]
    return 100.0 * caught / judged if judged else 100.0


def whole_files(nodes: list[str]) -> list[str]:
    """tests/test_mutation_*.py and the oracle files share one simulator and one listing per module
    (a module-scoped fixture): the lines it runs are traced to the first test only, so any of their
    tests reaching a line brings in the whole file (seconds: they are short)."""
    chosen: list[str] = []
    for node in nodes:
        file = node.split("::")[0]
        whole = Path(file).name.startswith("test_mutation_") or file.startswith("tests/oracle/")
        pick = file if whole else node
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def cache_keys(source: str) -> dict[int, str]:
    """For each node (by walk index): the digest of the innermost function around it, or of the
    module-level (or class-level) statement it is in, and its place there. A kill is reused while
    that code is unchanged, so another helper's edit elsewhere in the module doesn't rerun it all."""
    tree = ast.parse(source)
    roots = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            roots.update(id(stmt) for stmt in node.body)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            roots.add(id(node))
    nodes = [node for node, _stmt in _walk(tree)]
    keys: dict[int, str] = {}
    scopes: list[tuple[int, int, str]] = []  # (first index, last index, digest) of the scopes open here
    for index, node in enumerate(nodes):
        while scopes and scopes[-1][1] < index:
            scopes.pop()
        if id(node) in roots:
            size = sum(1 for _ in ast.walk(node))  # pre-order: a node's subtree follows it
            scopes.append((index, index + size - 1, hashlib.sha256(ast.dump(node).encode()).hexdigest()[:12]))
        first, _last, digest = scopes[-1] if scopes else (0, 0, "module")
        keys[index] = f"{digest}:{index - first}"
    return keys


def in_functions(path: Path, mutants: list[Mutant], names: set[str]) -> list[Mutant]:
    """The mutants inside functions (or methods) with these names, or in module-level assignments
    to these names (constants, tables): a partial run, said as such."""
    tree = ast.parse(source_of(path))
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names
    ]
    for node in tree.body:  # module-level tables and constants, by the name they are assigned to
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id in names for t in targets):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return [m for m in mutants if any(low <= m.line <= high for low, high in spans)]


def run_module(target: str, jobs_timeout: float | None, functions: set[str] | None = None) -> dict[str, int]:
    path = ROOT / target
    module = target[:-3].replace("/", ".")
    # Files that don't exist (yet) are skipped; options and node ids are kept.
    tests = [t for t in TARGETS[target] if t.startswith("-") or (ROOT / t.split("::")[0]).exists()]
    options = [t for t in tests if t.startswith("-")]
    mutants = enumerate_mutants(path)
    if functions:
        chosen = in_functions(path, mutants, functions)
        print(f"   partial run: {len(chosen)} of {len(mutants)} mutants, in {', '.join(sorted(functions))}")
        mutants = chosen
    OUT.mkdir(exist_ok=True)
    trace = OUT / f"{Path(target).stem}.lines.json"
    print(f"== {target}: {len(mutants)} mutants; baseline on {' '.join(tests)}", flush=True)
    rc, took = run_one(module, path, None, tests, 900, trace_to=trace)
    if rc != 0:
        sys.exit(f"baseline failed (exit {rc}): run `pytest {' '.join(tests)}` and fix it first")
    per_test: dict[str, set[int]] = {t: set(v) for t, v in json.loads(trace.read_text()).items()}
    order = [t for t in per_test if t]  # node ids, in the order they ran
    timeout = jobs_timeout or max(30.0, 3 * took)
    print(f"   baseline {took:.1f}s (traced), {len(order)} tests; timeout per mutant {timeout:.0f}s", flush=True)
    equivalents = load_equivalents()
    # A mutant killed stays killed while the module's code is the same (tests are only added):
    # a rerun after new tests tries the survivors only.
    # The AST, not the text: a changed comment keeps every mutant and its result.
    keys = cache_keys(source_of(path))
    cache_file = OUT / f"{Path(target).stem}.killed.json"
    cache: dict[str, str] = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    for n, m in enumerate(mutants, 1):
        lines = set(range(m.line, m.end_line + 1)) | {m.stmt_line}
        key = f"{keys[m.index]}:{m.op}"
        if key in cache:
            m.status = cache[key]
            continue
        if (target, m.source, m.desc) in equivalents:
            m.status = "equivalent"  # judged by hand already: not run again
            continue
        if lines & per_test.get("", set()):
            chosen = tests  # runs at import: every test depends on it
        else:
            chosen = whole_files([t for t in order if lines & per_test[t]])
            chosen = [*options, *chosen] if chosen else chosen
        if not chosen:
            m.status = "no coverage"
        else:
            rc, took = run_one(module, path, m, chosen, timeout)
            m.status = "timeout" if rc is None else ("survived" if rc == 0 else "killed")
            if m.status != "survived":
                cache[key] = m.status
                cache_file.write_text(json.dumps(cache))
        if m.status in {"survived", "no coverage"} and (target, m.source, m.desc) in equivalents:
            m.status = "equivalent"
        if m.status in {"survived", "no coverage"} or n % 25 == 0:
            print(f"   [{n}/{len(mutants)}] {m.status}: line {m.line}: {m.desc}   # {m.source}", flush=True)
        if n % 10 == 0:  # an interrupted run leaves what it judged (the rest "pending", outside the score)
            (OUT / f"{Path(target).stem}.json").write_text(json.dumps([asdict(m) for m in mutants], indent=1))
    records = [asdict(m) for m in mutants]
    (OUT / f"{Path(target).stem}.json").write_text(json.dumps(records, indent=1))
    counts = summarise(target, records)
    print(f"   {target}: {counts} score {score(counts):.1f}%", flush=True)
    return counts


def table(targets: list[str]) -> None:
    print("| module | mutants | killed | timeout | survived | no coverage | equivalent | score |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    total: dict[str, int] = {}
    for target in targets:
        stored = OUT / f"{Path(target).stem}.json"
        if not stored.exists():
            continue
        counts = summarise(target, json.loads(stored.read_text()))
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        pending = f" ({counts['pending']} not run)" if counts.get("pending") else ""
        print(
            f"| {target}{pending} | {counts['total']} | {counts['killed']} | {counts['timeout']} | "
            f"{counts['survived']} | {counts['no coverage']} | {counts['equivalent']} | {score(counts):.1f}% |"
        )
    if total:
        print(
            f"| **all** | {total['total']} | {total['killed']} | {total['timeout']} | {total['survived']} | "
            f"{total['no coverage']} | {total['equivalent']} | **{score(total):.1f}%** |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="module names or paths (default: all in TARGETS)")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--show", action="store_true", help="print the last run's survivors and the table")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: 3x the baseline)")
    parser.add_argument(
        "--functions",
        help="only mutants in these functions, methods or module-level constants (comma-separated): a partial run",
    )
    args = parser.parse_args()
    targets = resolve(args.modules)
    if args.list:
        for target in targets:
            for m in enumerate_mutants(ROOT / target):
                print(f"{target}:{m.line}: {m.desc}   # {m.source}")
        return
    if args.show:
        for target in targets:
            stored = OUT / f"{Path(target).stem}.json"
            equivalents = load_equivalents()
            for m in json.loads(stored.read_text()) if stored.exists() else []:
                if (target, m["source"], m["desc"]) in equivalents:
                    continue
                if m["status"] in {"survived", "no coverage"}:
                    print(f"{target}:{m['line']}: {m['status']}: {m['desc']}   # {m['source']}")
        table(targets)
        return
    # The libraries every child needs, imported once here (cdrtui itself is imported fresh in each child).
    import httpx  # noqa: F401
    import keyring  # noqa: F401
    import pytest_asyncio  # noqa: F401
    import rich.cells  # noqa: F401
    import textual.app  # noqa: F401

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for target in targets:
        run_module(target, args.timeout, set(args.functions.split(",")) if args.functions else None)
    table(targets)


if __name__ == "__main__":
    main()
