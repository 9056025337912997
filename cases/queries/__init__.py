"""The read side: what staff see of cases, the quarantine, set-aside events and the backlog."""
