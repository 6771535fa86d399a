"""Shared infrastructure for every package (theory, nets, benchmarks): atomic writes with provenance,
config keys, folder locks (``infra.io``), the job executor (``infra.parallel``) and text tables
(``infra.tables``). It imports nothing from ``theory`` or ``nets``."""
