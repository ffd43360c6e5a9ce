"""Compatibility mode ``dysta``: the Dysta simulator's loop (``settings.compat == "dysta"``, set
by the Dysta importer; ``docs/dysta.md``).

Under this mode the engine (:mod:`rtmm_opt.engine.loop`) runs the simulator's loop instead of
its event heap (``shared/dysta/README.md`` §3.4), for one accelerator without contention,
context switches or cascades:

* requests are admitted only at op (layer) boundaries: after each op, every job whose release
  is *strictly* before the clock joins the queue;
* when the queue is empty, the next job (by release, then index) is admitted alone and the
  clock is set to its release. If that release lies before the end of the op that just
  finished, the clock moves backwards and the job's first op overlaps that op: the simulator's
  clock-rewind quirk, reproduced on purpose (the validator accepts exactly these overlaps under
  this mode, :mod:`rtmm_opt.schedule.validator`). Only an op completion can rewind the clock;
  a queue emptied by drops (which the simulator does not have) takes the next job at
  ``max(now, release)``;
* a job's release time and last progress are its release (the simulator's t_last = a_j), not
  its admission time;
* every decision point must dispatch an op (the simulator is work-conserving); wake-up
  requests are ignored, as there is a decision point after every op anyway.

The engine runs the op a decision dispatched to its end; :class:`DystaLoop` holds the rules
above (which jobs join the queue, where the clock goes, work conservation). The default loop
does not look at this mode beyond choosing the loop.
"""

from __future__ import annotations

from rtmm_opt.engine.contract import SchedulingError
from rtmm_opt.errors import InputError
from rtmm_opt.instance.instance import Instance


def check_dysta_compat(instance: Instance) -> None:
    """Reject instances that the Dysta simulator's loop cannot describe (InputError)."""
    settings = instance.settings
    problems = [
        what
        for what, present in (
            (f"{instance.n_accelerators} accelerators", instance.n_accelerators != 1),
            ("bandwidth contention", settings.contention),
            ("context switches", settings.context_switch),
            ("cascaded jobs", len(instance.job_upstream) > 0),
        )
        if present
    ]
    if problems:
        raise InputError(
            "compat 'dysta' reproduces the Dysta simulator, which has one accelerator and no "
            f"contention, context switches or cascades; this instance has {', '.join(problems)}",
            field="settings.compat",
        )


class DystaLoop:
    """The Dysta simulator's admission and clock rules for one replay (the module docstring).

    The engine calls :meth:`reset` when it starts over and, after every op boundary,
    :meth:`check_dispatched` and then :meth:`admit`.
    """

    def __init__(self, instance: Instance) -> None:
        check_dysta_compat(instance)
        self.release: list[int] = instance.job_release.tolist()
        # Jobs in the order the loop admits them: by release, then index.
        self.arrivals: list[int] = sorted(
            range(instance.n_jobs), key=lambda job: (self.release[job], job)
        )
        self.next_arrival = 0  # the next job of ``arrivals`` to admit

    def reset(self) -> None:
        self.next_arrival = 0

    @property
    def exhausted(self) -> bool:
        """True once every job has been admitted."""
        return self.next_arrival >= len(self.arrivals)

    def check_dispatched(
        self, policy_name: str, now: int, queued: int, ran_op: bool, decisions: int
    ) -> None:
        """Raise :class:`SchedulingError` if a decision left ``queued`` jobs waiting without
        dispatching an op (``ran_op`` false after ``decisions`` > 0 decisions)."""
        if queued and not ran_op and decisions:
            raise SchedulingError(
                f"{policy_name} at t={now}: dispatched nothing while {queued} jobs are "
                "queued; under compat 'dysta' every decision must dispatch an op (the Dysta "
                "simulator is work-conserving)"
            )

    def admit(self, now: int, *, queue_empty: bool, ran_op: bool) -> tuple[int, list[int]]:
        """The clock after an op boundary at ``now``, and the jobs that join the queue there
        (each released at its own release time, in this order).

        ``ran_op``: an op completed at this boundary (only that may rewind the clock).
        """
        arrivals, release = self.arrivals, self.release
        k, count = self.next_arrival, len(arrivals)
        if k >= count:
            return now, []
        if queue_empty:
            job = arrivals[k]
            self.next_arrival = k + 1
            # README §3.4: the clock is set to the arrival, also when that is earlier than the
            # end of the op that just ran (the clock-rewind quirk).
            return (release[job] if ran_op else max(now, release[job])), [job]
        admitted = []
        while k < count and release[arrivals[k]] < now:  # strict, as in the simulator
            admitted.append(arrivals[k])
            k += 1
        self.next_arrival = k
        return now, admitted
