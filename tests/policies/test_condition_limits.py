"""The limits keep hostile conditions from crashing or stalling the process.

The Rust evaluator recurses over the syntax tree and the process dies (SIGSEGV, nothing to
catch) when a thread's stack runs out; comprehensions copy lists and can take minutes.
These run in a child process, on a thread with a 512 KB stack (macOS gives secondary
threads 512 KB; Linux gives 8 MB), so a crash fails the test instead of killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from policies.condition_context import SAMPLE_CONTEXT
from policies.conditions import (
    MAX_COMPREHENSION_NESTING,
    MAX_LITERAL_ITEMS,
    MAX_NESTING,
    MAX_OPERATORS,
    compile_condition,
    evaluate_condition,
)

ROOT = Path(__file__).resolve().parents[2]

AT_THE_LIMITS = {
    "chained additions": " + ".join(["1"] * MAX_OPERATORS) + " > 0",
    "chained selections": "evaluations.performance.metrics" + ".a" * 60 + " == 0.5",
    "chained indexes": "evaluations['performance'].metrics" + "['a']" * 60 + " == 0.5",
    "nested parentheses": "(" * MAX_NESTING + "true" + ")" * MAX_NESTING,
    "nested lists": "[" * MAX_NESTING + "]" * MAX_NESTING + " == []",
    "nested maps": "{'a': " * MAX_NESTING + "1" + "}" * MAX_NESTING + " != {}",
    "nested calls": "int(" * MAX_NESTING + "1" + ")" * MAX_NESTING + " == 1",
    "parentheses and operators": "(" * MAX_NESTING
    + " + ".join(["1"] * 160)
    + ")" * MAX_NESTING
    + " > 0",
    "negations": "!" * (MAX_OPERATORS - 1) + "true",
    "conditionals": "true ? true : " * (MAX_OPERATORS // 3) + "true",
    "comprehensions": "artifacts.all(a, artifacts.all(b, " + " + ".join(["1"] * 150) + " > 0))",
}

CHILD = """
import json, sys, threading
sys.path.insert(0, sys.argv[1])
from policies.conditions import compile_condition, evaluate_condition, ConditionError
from policies.condition_context import SAMPLE_CONTEXT
shapes = json.loads(sys.argv[2])
results = {}
def run():
    for name, source in shapes.items():
        try:
            outcome = evaluate_condition(compile_condition(source), SAMPLE_CONTEXT)
            results[name] = "passed" if outcome.passed else f"failed: {outcome.error}"
        except ConditionError as error:
            results[name] = f"refused: {error}"
threading.stack_size(512 * 1024)
thread = threading.Thread(target=run)
thread.start()
thread.join()
print(json.dumps(results))
"""


def test_conditions_at_every_limit_run_on_a_512_kb_stack():
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), json.dumps(AT_THE_LIMITS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert set(results) == set(AT_THE_LIMITS)
    refused = {name: result for name, result in results.items() if result.startswith("refused")}
    assert refused == {}


def _elapsed(source: str) -> float:
    compiled = compile_condition(source)
    started = time.perf_counter()
    evaluate_condition(compiled, SAMPLE_CONTEXT)
    return time.perf_counter() - started


def test_the_costliest_comprehensions_allowed_stay_fast():
    items = "[" + ", ".join(["0"] * MAX_LITERAL_ITEMS) + "]"
    nested_filters = f"{items}.filter(x, {items}.filter(y, x == y).size() > 0).size() > 0"
    nested_all = f"{items}.all(x, {items}.all(y, x == y || true))"
    assert MAX_COMPREHENSION_NESTING == 2
    assert _elapsed(nested_filters) < 0.5
    assert _elapsed(nested_all) < 0.5
