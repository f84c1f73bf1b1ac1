"""SQLAlchemy models, sessions and the raw-message store. The only package that touches SQLAlchemy."""
