"""Key/value facts about the store (the geography edition loaded, whether data is demo data)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from data_access.models import Setting


def get_setting(conn, key: str, default: str | None = None) -> str | None:
    """The stored value for a key, or the default."""
    value = conn.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()
    return default if value is None else value


def set_setting(conn, key: str, value: str) -> None:
    """Store a value for a key, replacing any earlier one."""
    conn.execute(delete(Setting.__table__).where(Setting.key == key))
    conn.execute(insert(Setting.__table__), [{"key": key, "value": value}])
