"""Pure document readers: no DB, no network, no clock. They return facts, not judgements."""
