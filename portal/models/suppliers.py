"""Suppliers: one identity shared by every school that assesses them."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk, str_name


class Supplier(Base):
    __tablename__ = "supplier"

    id: Mapped[intpk]
    name: Mapped[str_name] = mapped_column(index=True)
    company_number: Mapped[str | None] = mapped_column(String(20), comment="Companies House")
    domain: Mapped[str | None] = mapped_column(String(253))
    created_at: Mapped[created_at]
