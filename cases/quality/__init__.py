"""The quality room of the domain: warranty claim parts, on-site service reports, service
agreements and the working-day calendar their deadlines are counted on (docs/quality.md)."""
