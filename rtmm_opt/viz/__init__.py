"""Schedule visualisation and export: Gantt charts (matplotlib, optional) and Perfetto traces.

``docs/outputs.md`` describes every output. The Gantt functions import matplotlib only when
called (``pip install 'rtmm-opt[plot]'``); the trace export needs nothing beyond the core.
"""

from rtmm_opt.viz.gantt import plot_gantt, plot_gantt_pair, save_figure, save_gantt, task_colors
from rtmm_opt.viz.perfetto import trace_events, write_trace

__all__ = [
    "plot_gantt",
    "plot_gantt_pair",
    "save_figure",
    "save_gantt",
    "task_colors",
    "trace_events",
    "write_trace",
]
