"""The domain's vocabulary: the states table, enums, errors, events, actors, references and tokens, the clock, the first-guess tables and IntakeMessage."""
