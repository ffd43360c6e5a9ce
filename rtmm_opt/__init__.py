"""rtmm-opt: how far real-time multi-model ML schedulers are from optimal.

The package is laid out by concept (SPEC §1); imports point one way::

    io, errors → workload, hardware → scenario → instance → schedule → metrics → cli
"""

__version__ = "0.1.0"
