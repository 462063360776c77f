"""The fault registry: named, documented ways to break (or legally bend) one stream.

Each fault edits a ``Wire`` (payloads, headers, framing, write mode) built for a conformant
answer. ``Fault.rules`` lists every rule id that fails or warns when the fault acts on a
request of one of its answer ``kinds``, judged under profile ``sansa`` (the spec): tests judge
the endpoint's output with the checker and demand exactly that set. On a request of any
other kind the fault does nothing and the stream stays conformant.
"""

from . import payload_faults, wire_faults
from .registry import ALL_KINDS, ERROR_KINDS, FAULTS, Fault, FaultContext, apply_fault, error_kind

_REGISTERED = (payload_faults, wire_faults)  # importing them is what fills FAULTS, in this order

__all__ = ["ALL_KINDS", "ERROR_KINDS", "FAULTS", "Fault", "FaultContext", "apply_fault", "error_kind"]
