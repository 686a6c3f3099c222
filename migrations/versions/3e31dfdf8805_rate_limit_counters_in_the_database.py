"""rate limit counters in the database, shared by every web process (app/services/rate_limit_storage.py)

Revision ID: 3e31dfdf8805
Revises: cdcf6222e544
Create Date: 2026-11-26 00:16:56.439514

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e31dfdf8805'
down_revision = 'cdcf6222e544'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counter',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('rate_limit_counter')
