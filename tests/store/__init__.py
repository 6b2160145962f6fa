"""Tests of the SQL store (fourflow.adapters.db), on SQLite and PostgreSQL."""
