"""What starts and exposes kefu: the composition root, the parts' lifetimes, the CLI, logging and the web."""
