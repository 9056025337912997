"""The rule tables an admin may change from the console or the API (issue 15, Admin): each
described as data in `tables.py`, stored in one place (`store.py`: the settings and their
history), changed through one call (`service.py`), applied where they matter (the severity by
cases/quality/severity.py, the routing on the approver's form, the intake holds by
cases/services/holds.py through `intake_holds.py`)."""
