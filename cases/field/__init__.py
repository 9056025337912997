"""Field data and early warning (procedure 6.5): failure records, shipments, the scan and its
alerts, batch traceability (docs/field-data.md)."""
