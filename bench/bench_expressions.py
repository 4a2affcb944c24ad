"""Expression language: compile and evaluate times (median of repeated timeit runs)."""

from __future__ import annotations

import statistics
import timeit

SOURCE = "5 * k * (H >= 2 * B ? H : B)"
LATE_FEE = "min(round(unpaid * 0.002 * months_between(add_days(due, 1), today()), 2), unpaid)"


def run(ctx: dict) -> dict[str, float]:
    from govflow.expressions import compile_expression

    expr = compile_expression(SOURCE)
    late = compile_expression(LATE_FEE)
    fee_ctx = {"k": 1, "H": 9000, "B": 7000}
    late_ctx = {"unpaid": 35000, "due": "2013-04-03", "__today__": "2013-11-04"}
    n = 20000
    evals = [timeit.timeit(lambda: expr.evaluate(fee_ctx), number=n) / n * 1e6 for _ in range(5)]
    late_evals = [
        timeit.timeit(lambda: late.evaluate(late_ctx), number=n // 4) / (n // 4) * 1e6 for _ in range(5)
    ]
    compiles = [
        timeit.timeit(lambda: compile_expression.__wrapped__(SOURCE), number=500) / 500 * 1e6
        for _ in range(5)
    ]
    return {
        "expression_eval_median_us": statistics.median(evals),
        "expression_late_fee_eval_median_us": statistics.median(late_evals),
        "expression_compile_median_us": statistics.median(compiles),
    }
