"""channel links (Telegram chats, speakers) to households

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_channel_links_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_links")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_channel_links_channel")),
    )
    with op.batch_alter_table("channel_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_links_household_id"), ["household_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_links_household_id"))
    op.drop_table("channel_links")
