"""The services: CaseService (the only writer of case state) and the work it delegates to."""
