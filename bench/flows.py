"""The benchmark's four-step procedure written by hand as a viewflow class: the baseline that the compiled
(data-defined) version of bench/definitions/bench_four_step.json is measured against.

Same nodes, same routing (owner_permission + area object), same row lock, same data in Process.data.
"""

from __future__ import annotations

from typing import Any

from viewflow import this
from viewflow.workflow import nodes
from viewflow.workflow.base import Flow

from govflow.roles.models import Area
from govflow.workflows.nodes import ROW_LOCK


def _area(length: int) -> Any:
    return lambda process: Area(code=process.data["case"]["area"][:length])


def _start(activation: Any, user: Any = None) -> Any:
    activation.task.owner = user
    return activation.process


class HandWrittenFlow(Flow):
    """Hand-written four-step flow"""

    lock_impl = ROW_LOCK

    n_apply = nodes.StartHandle(_start).Next(this.n_review)
    n_review = nodes.View(None).Permission("roles.act_as_township_reviewer", obj=_area(9)).Next(this.n_decide)
    n_decide = (
        nodes.Switch()
        .Case(this.n_rejected, lambda activation: activation.process.data["review"]["decision"] == "reject")
        .Default(this.n_approve)
    )
    n_approve = nodes.View(None).Permission("roles.act_as_county_approver", obj=_area(6)).Next(this.n_pay)
    n_pay = nodes.View(None).Permission("roles.act_as_county_cashier", obj=_area(6)).Next(this.n_paid)
    n_rejected = nodes.End()
    n_paid = nodes.End()
