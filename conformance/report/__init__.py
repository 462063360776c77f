"""Reports: the per-test payloads, compliance.json, and the pytest-html page.

Writers consume the same results: every test report carries its rule's result (and, once per
exchange, the exchange's summary) as plain JSON data, which survives pytest-xdist; the
collector on the controlling process gathers them and writes compliance.json and the page.
Everything the endpoint sent is escaped before it reaches HTML.
"""

from .collector import ComplianceCollector
from .data import exchange_payload, failed_payload, result_payload, skipped_payload

__all__ = ["ComplianceCollector", "exchange_payload", "failed_payload", "result_payload", "skipped_payload"]
