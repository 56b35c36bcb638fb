"""Data-quality gates: Great Expectations suites (`expectations/*.json`) judge each layer
before the next is built, and stop the run before publish on a critical failure.

See docs/quality.md. Importing this package does not import Great Expectations: the gates
do, when they run.
"""

from pipelines.quality.gates import GateReport, gate_facts, gate_marts, gate_raw

__all__ = ["GateReport", "gate_facts", "gate_marts", "gate_raw"]
