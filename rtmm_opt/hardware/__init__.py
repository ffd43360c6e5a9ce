"""Hardware: sub-accelerators, systems, presets and cost models."""

from rtmm_opt.hardware.accelerator import Accelerator, Dataflow, System

__all__ = ["Accelerator", "Dataflow", "System"]
