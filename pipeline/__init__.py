"""studio-intake orchestration: config, campaign rules, mail decoding, archives, checks, replies, CLI."""
