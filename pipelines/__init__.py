"""Customer-loyalty pipeline: CRM exports and survey responses to a DuckDB warehouse.

Layers and where they live: see docs/architecture.md. Stage functions: `pipelines.run`.
"""

__version__ = "0.1.0"
