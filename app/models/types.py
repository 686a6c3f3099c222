"""Column types shared by every domain."""
from decimal import Decimal, ROUND_HALF_UP

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """Yuan as Decimal in Python, integer fen in the database.

    SQLite stores Numeric as a float, so sums drift; integer fen is exact on both
    databases and in SQL SUM()."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int((Decimal(str(value)) * 100).quantize(Decimal(1), ROUND_HALF_UP))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)

    @property
    def python_type(self):
        return Decimal


def fen_to_yuan(value):
    """For raw SQL aggregates (SUM over a Money column returns fen)."""
    return (Decimal(int(value or 0)) / 100).quantize(CENT)
