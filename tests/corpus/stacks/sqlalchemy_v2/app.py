"""SQLAlchemy 2 ORM models on an in-memory SQLite database."""

from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(30))


engine = create_engine("sqlite://")
Base.metadata.create_all(engine)


def lambda_handler(event, context):
    with Session(engine) as session:
        return {"orders": len(session.scalars(select(Order)).all())}
