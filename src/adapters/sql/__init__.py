"""SQL adapter: the repositories and unit of work over SQLAlchemy Core (SQLite and PostgreSQL)."""
