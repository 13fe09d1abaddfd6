"""Case placement: buyers place warrants one at a time or in files of up to 100,000 rows [000 §2.88].

Every row is validated; good rows are stored, bad rows come back as ``(row, field, reason)`` and the
caller gets a :class:`Receipt`. Three modules, one job each:

- :mod:`core.placement.rows`: reading CSV / JSON lines and validating one row into a typed
  :class:`PlacementIn` (pure, no database);
- :mod:`core.placement.store`: storing a batch of validated rows for one buyer, set-based
  (``COPY`` into staging, then ``INSERT … SELECT``): :func:`place_batch`, which ``POST /cases`` also
  uses for a single case;
- :mod:`core.placement.stream`: a whole upload, validated and stored in bounded batches:
  :func:`place_stream`.
"""
from core.placement.rows import (
    CSV_COLUMNS,
    CSV_OPTIONAL,
    CSV_REQUIRED,
    MAX_BALANCE_PENCE,
    AddressIn,
    BadUpload,
    DebtorIn,
    FieldNamer,
    PlacementIn,
    Record,
    RowError,
    VehicleIn,
    csv_field,
    json_field,
    read_csv,
    read_jsonl,
    today,
    validate,
)
from core.placement.store import BatchResult, place_batch
from core.placement.stream import BATCH_ROWS, Receipt, TooManyRows, place_stream

__all__ = [
    "BATCH_ROWS", "CSV_COLUMNS", "CSV_OPTIONAL", "CSV_REQUIRED", "MAX_BALANCE_PENCE", "AddressIn", "BadUpload",
    "BatchResult", "DebtorIn", "FieldNamer", "PlacementIn", "Receipt", "Record", "RowError", "TooManyRows",
    "VehicleIn", "csv_field", "json_field", "place_batch", "place_stream", "read_csv", "read_jsonl", "today",
    "validate",
]
