"""The interface every online scheduler implements, and the run-to-completion loop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from rtmm_opt.engine.engine import Decision, Engine, StaticInfo, View
from rtmm_opt.instance.instance import Instance
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedule.validator import validate


class Policy(ABC):
    """An online scheduler: one decision method, called at every decision point.

    ``reset`` is called once per replay with what is known before anything runs. ``decide``
    gets the :class:`View` of the current decision point and returns a :class:`Decision` (or
    None for "nothing now"). A policy that reads realised outcomes in advance sets
    ``clairvoyant = True`` (it may then call ``view.clairvoyant()``); its results are baselines,
    not online results.
    """

    name: ClassVar[str] = ""
    clairvoyant: ClassVar[bool] = False

    def reset(self, static: StaticInfo) -> None:  # noqa: B027 - optional hook
        """Prepare for a new replay."""

    @abstractmethod
    def decide(self, view: View) -> Decision | None:
        """The decision at this decision point."""


def replay(instance: Instance, policy: Policy, *, check: bool = True) -> Schedule:
    """Run ``policy`` over ``instance`` to the end and return the (validated) Schedule."""
    engine = Engine(instance, policy_name=policy.name or type(policy).__name__)
    policy.reset(StaticInfo.of(instance))
    view = engine.reset()
    while view is not None:
        view = engine.step(policy.decide(view))
    schedule = engine.schedule()
    if check:
        validate(instance, schedule).raise_if_invalid()
    return schedule
