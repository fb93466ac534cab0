"""The service's database: its tables, their migrations, and the background row writer.

One SQLAlchemy database (SQLite by default, PostgreSQL by URL) holds the cost ledger, the
answers given (for feedback and human review), feedback, shadow comparisons and the audit
trail. Features own their rows and queries; this package owns the schema and the writing.
"""
