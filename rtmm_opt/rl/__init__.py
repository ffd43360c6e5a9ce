"""Reinforcement learning over the engine: the Gymnasium environment (:mod:`rtmm_opt.rl.env`,
extra ``rl``: ``gymnasium``) and RELMAS's DDPG training (:mod:`rtmm_opt.rl.train`, extra ``rl``:
``torch``). The trained actor runs without either, as the ``relmas`` scheduler
(:mod:`rtmm_opt.schedulers.relmas`); see ``docs/schedulers/relmas.md``.
"""
